import { Alert, Button, Code, Group, Paper, Progress, Stack, Text } from '@mantine/core';
import type { JobView } from '../state';

/** Long work in a page: stage, progress, cancel, the outcome, and the last log lines. */
export function JobPanel({
  job,
  onCancel,
  startError,
  showLogs = true,
}: {
  job: JobView | null;
  onCancel(): void;
  startError?: string | null;
  showLogs?: boolean;
}) {
  if (startError)
    return (
      <Alert color="red" variant="light" title="Could not start" data-testid="job-error">
        {startError}
      </Alert>
    );
  if (!job) return null;
  const p = job.progress;
  const pct = p && p.total > 0 ? Math.min(100, (100 * p.done) / p.total) : 0;
  const running = job.status === 'running';
  return (
    <Paper withBorder p="md" radius="md" data-testid={`job-${job.kind}`} data-status={job.status}>
      <Stack gap="xs">
        <Group justify="space-between" wrap="nowrap">
          <Text fw={600} size="sm" truncate>
            {job.title}
          </Text>
          {running ? (
            <Button size="xs" color="red" variant="light" onClick={onCancel} data-testid="cancel-job">
              Cancel
            </Button>
          ) : (
            <Text size="xs" c={job.status === 'done' ? 'teal' : job.status === 'cancelled' ? 'dimmed' : 'red'} fw={600} tt="uppercase">
              {job.status}
            </Text>
          )}
        </Group>
        {running && (
          <>
            <Progress value={pct} animated={!p || p.total === 0} striped={!p || p.total === 0} size="md" />
            <Text size="xs" c="dimmed">
              {p ? `${p.stage}: ${formatCount(p.done, p.stage)} / ${formatCount(p.total, p.stage)}${p.message ? ` · ${p.message}` : ''}` : 'starting…'}
            </Text>
          </>
        )}
        {job.status === 'failed' && (
          <Text size="sm" c="red" data-testid="job-failure">
            {job.error}
          </Text>
        )}
        {showLogs && job.logs.length > 0 && (
          <Code block mah={140} style={{ overflow: 'auto', fontSize: 11, whiteSpace: 'pre-wrap', wordBreak: 'break-word' }}>
            {job.logs
              .slice(-12)
              .map((l) => l.message)
              .join('\n')}
          </Code>
        )}
      </Stack>
    </Paper>
  );
}

function formatCount(n: number, stage: string): string {
  if (stage === 'download') return formatBytes(n);
  return n.toLocaleString();
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}
