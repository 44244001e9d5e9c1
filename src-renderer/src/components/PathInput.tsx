import { Button, Group, TextInput } from '@mantine/core';
import type { PathKind } from '../../../src-main/api/contract';
import { useApp } from '../state';

/**
 * A path field. In Electron a Browse button opens the native dialog; in a browser (lamm serve)
 * the path is typed, since it names a file on the machine running the engine.
 */
export function PathInput(props: {
  label: string;
  value: string;
  onChange(v: string): void;
  kind: PathKind;
  placeholder?: string;
  description?: string;
  testId?: string;
}) {
  const { api, status } = useApp();
  const canBrowse = status?.host === 'electron';
  const browse = async () => {
    const r = await api.pickPath({ kind: props.kind, title: props.label, defaultPath: props.value || undefined });
    if (r.path) props.onChange(r.path);
  };
  return (
    <Group align="flex-end" gap="xs" wrap="nowrap">
      <TextInput
        style={{ flex: 1 }}
        label={props.label}
        description={props.description}
        placeholder={props.placeholder}
        value={props.value}
        onChange={(e) => props.onChange(e.currentTarget.value)}
        data-testid={props.testId}
        classNames={{ input: 'mono' }}
      />
      {canBrowse && (
        <Button variant="default" onClick={browse}>
          Browse…
        </Button>
      )}
    </Group>
  );
}
