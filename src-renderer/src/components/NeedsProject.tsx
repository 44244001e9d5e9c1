import { Button, Center, Stack, Text, ThemeIcon } from '@mantine/core';
import type { ReactNode } from 'react';
import { useApp } from '../state';

/** Pages that work on a project show a way to one when none is open. */
export function NeedsProject({ children }: { children: ReactNode }) {
  const { status, navigate } = useApp();
  if (status?.project) return <>{children}</>;
  return (
    <Center h="60vh">
      <Stack align="center" gap="sm">
        <ThemeIcon size={56} radius="xl" variant="light">
          <span style={{ fontSize: 26 }}>▦</span>
        </ThemeIcon>
        <Text fw={600}>No project is open</Text>
        <Text c="dimmed" size="sm">
          Create one from a folder of images, or open the demo.
        </Text>
        <Button onClick={() => navigate('projects')}>Go to Projects</Button>
      </Stack>
    </Center>
  );
}
