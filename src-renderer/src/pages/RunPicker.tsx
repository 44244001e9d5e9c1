import { Select } from '@mantine/core';
import { useEffect } from 'react';
import type { RunSummary } from '../../../src-main/api/contract';

/** Picks a finished run; defaults to the newest one that matches. */
export function RunPicker(props: {
  runs: RunSummary[] | undefined;
  value: number | null;
  onChange(id: number | null): void;
  label: string;
  filter(r: RunSummary): boolean;
  testId?: string;
}) {
  const options = (props.runs ?? []).filter((r) => r.status === 'done' && props.filter(r));
  // biome-ignore lint/correctness/useExhaustiveDependencies: picks a default once runs arrive, not on every parent render
  useEffect(() => {
    if (props.value === null && options.length) props.onChange(options[0].id);
  }, [options.length, props.value]);
  return (
    <Select
      label={props.label}
      w={250}
      data={options.map((r) => ({ value: String(r.id), label: `#${r.id} · ${r.kind}${r.accuracy !== null ? ` · ${(100 * r.accuracy).toFixed(1)}%` : ''}` }))}
      value={props.value === null ? null : String(props.value)}
      onChange={(v) => props.onChange(v ? Number(v) : null)}
      placeholder={options.length ? 'Choose a run' : 'No finished runs yet'}
      allowDeselect={false}
      data-testid={props.testId}
    />
  );
}
