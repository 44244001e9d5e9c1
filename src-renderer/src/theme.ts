import { createTheme } from '@mantine/core';

export const theme = createTheme({
  primaryColor: 'indigo',
  defaultRadius: 'md',
  fontFamily: 'Inter, "Segoe UI", system-ui, -apple-system, Roboto, "Helvetica Neue", Arial, sans-serif',
  headings: { fontWeight: '650' },
});

/** Colours of the loss terms and accuracy curves, shared by the charts and their legends. */
export const SERIES_COLORS = {
  loss: '#364fc7',
  ce: '#1c7ed6',
  wc: '#e8590c',
  cos: '#2f9e44',
  kd: '#ae3ec9',
  trainAccuracy: '#0ca678',
  testAccuracy: '#f08c00',
  lr: '#868e96',
} as const;
