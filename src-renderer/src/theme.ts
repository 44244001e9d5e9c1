import { createTheme } from '@mantine/core';

export const theme = createTheme({
  primaryColor: 'indigo',
  defaultRadius: 'md',
  fontFamily: 'Inter, "Segoe UI", system-ui, -apple-system, Roboto, "Helvetica Neue", Arial, sans-serif',
  headings: { fontWeight: '650' },
});

/** Colours of the total loss, accuracy and lr curves, shared by the charts and their legends. */
export const SERIES_COLORS = {
  loss: '#364fc7',
  trainAccuracy: '#0ca678',
  testAccuracy: '#f08c00',
  lr: '#868e96',
} as const;

/** The loss terms' colours, by position in LOSS_TERMS (so a new term needs no colour of its own). */
const TERM_PALETTE = ['#1c7ed6', '#e8590c', '#2f9e44', '#ae3ec9', '#d6336c', '#0c8599', '#5c940d', '#862e9c'];

export function termColor(index: number): string {
  return TERM_PALETTE[index % TERM_PALETTE.length];
}
