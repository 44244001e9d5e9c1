import { Alert } from '@mantine/core';

/** A readable error: the engine's one-line message, never a stack. */
export function ErrorNote({ error, title = 'Something went wrong' }: { error: string | null | undefined; title?: string }) {
  if (!error) return null;
  return (
    <Alert color="red" variant="light" title={title} data-testid="error-note">
      {error}
    </Alert>
  );
}
