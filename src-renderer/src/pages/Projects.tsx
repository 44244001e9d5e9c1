import { Badge, Button, Card, Grid, Group, Stack, Table, Text, Title } from '@mantine/core';
import { useEffect, useState } from 'react';
import { PageHeader } from '../components/PageHeader';
import { PathInput } from '../components/PathInput';
import { JobPanel } from '../components/JobPanel';
import { ErrorNote } from '../components/ErrorNote';
import { useAction, useApp, useJob, useQuery } from '../state';

export function ProjectsPage() {
  const { api, status, refreshStatus, navigate } = useApp();
  const recent = useQuery((a) => a.listRecentProjects(), [status?.project?.dbPath]);
  const demo = useJob('demo');
  const importJob = useJob('import');
  const [dataFolder, setDataFolder] = useState('');
  const [dbPath, setDbPath] = useState('');
  const [openPath, setOpenPath] = useState('');
  const action = useAction();
  const { error, busy } = action;

  // A project file next to the data folder unless the user names one.
  useEffect(() => {
    if (dataFolder && !dbPath) setDbPath(`${dataFolder.replace(/[\\/]+$/, '')}.lamm.sqlite`);
  }, [dataFolder, dbPath]);

  const run = (f: () => Promise<unknown>) =>
    action.run(async () => {
      await f();
      await refreshStatus();
    });

  const create = () =>
    run(async () => {
      await api.createProject({ dbPath, dataFolder: dataFolder || undefined });
      if (dataFolder) await importJob.start(() => api.importFolder({ folder: dataFolder }));
    });

  useEffect(() => {
    if (demo.result || importJob.result) void refreshStatus();
  }, [demo.result, importJob.result, refreshStatus]);

  return (
    <>
      <PageHeader
        title="Projects"
        description="A project is one file that keeps your dataset's classes and splits, the models you added, every training run and its results."
      />
      <ErrorNote error={error} />
      {status?.project && (
        <Card withBorder mb="lg" padding="lg" data-testid="current-project">
          <Group justify="space-between">
            <div>
              <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
                Open project
              </Text>
              <Title order={3}>{status.project.name}</Title>
              <Text size="sm" c="dimmed" className="mono">
                {status.project.dbPath}
              </Text>
            </div>
            <Group>
              <Badge size="lg" variant="light">
                {status.project.classCount} classes
              </Badge>
              <Badge size="lg" variant="light" color="teal">
                {status.project.imageCount.toLocaleString()} images
              </Badge>
              <Button onClick={() => navigate('dataset')}>Continue to Dataset →</Button>
            </Group>
          </Group>
        </Card>
      )}
      <Grid gap="lg">
        <Grid.Col span={{ base: 12, md: 6 }}>
          <Card withBorder padding="lg" h="100%">
            <Stack>
              <Title order={4}>New project from a folder</Title>
              <Text size="sm" c="dimmed">
                Images sorted into class folders (<span className="mono">DATA/&lt;class&gt;/…</span>), or already split (
                <span className="mono">DATA/train/&lt;class&gt;</span> + <span className="mono">DATA/test/&lt;class&gt;</span>).
              </Text>
              <PathInput
                label="Image folder"
                kind="folder"
                value={dataFolder}
                onChange={setDataFolder}
                placeholder="/path/to/images"
                testId="new-data-folder"
              />
              <PathInput label="Project file" kind="save" value={dbPath} onChange={setDbPath} placeholder="/path/to/project.lamm.sqlite" testId="new-db-path" />
              <Group>
                <Button onClick={create} disabled={!dbPath || busy || importJob.running} loading={busy} data-testid="create-project">
                  Create and import
                </Button>
              </Group>
              <JobPanel job={importJob.job} onCancel={importJob.cancel} startError={importJob.startError} />
            </Stack>
          </Card>
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 6 }}>
          <Stack gap="lg">
            <Card withBorder padding="lg">
              <Stack>
                <Group justify="space-between">
                  <Title order={4}>Demo project</Title>
                  <Badge variant="dot">runs on a CPU in about a minute</Badge>
                </Group>
                <Text size="sm" c="dimmed">
                  A tiny CLIP and a generated dataset, so you can walk through every step: curate, zero-shot, train LAMM, inspect, compare, export.
                </Text>
                <Group>
                  <Button variant="light" onClick={() => void demo.start(() => api.openDemo())} disabled={demo.running} data-testid="open-demo">
                    Open the demo
                  </Button>
                </Group>
                <JobPanel job={demo.job} onCancel={demo.cancel} startError={demo.startError} />
              </Stack>
            </Card>
            <Card withBorder padding="lg">
              <Stack>
                <Title order={4}>Open a project file</Title>
                <PathInput
                  label="Project file"
                  kind="file"
                  value={openPath}
                  onChange={setOpenPath}
                  placeholder="/path/to/project.lamm.sqlite"
                  testId="open-db-path"
                />
                <Group>
                  <Button
                    variant="default"
                    disabled={!openPath || busy}
                    onClick={() => run(() => api.openProject({ dbPath: openPath }))}
                    data-testid="open-project"
                  >
                    Open
                  </Button>
                </Group>
              </Stack>
            </Card>
          </Stack>
        </Grid.Col>
      </Grid>
      <Card withBorder padding="lg" mt="lg">
        <Title order={4} mb="sm">
          Recent projects
        </Title>
        <ErrorNote error={recent.error} />
        {recent.data && recent.data.length === 0 && (
          <Text size="sm" c="dimmed">
            None yet.
          </Text>
        )}
        {recent.data && recent.data.length > 0 && (
          <Table highlightOnHover verticalSpacing="xs" data-testid="recent-projects">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>File</Table.Th>
                <Table.Th>Last opened</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {recent.data.map((r) => (
                <Table.Tr key={r.dbPath}>
                  <Table.Td fw={600}>{r.name}</Table.Td>
                  <Table.Td className="mono" fz="xs">
                    {r.dbPath}
                  </Table.Td>
                  <Table.Td fz="sm">{new Date(r.openedAt).toLocaleString()}</Table.Td>
                  <Table.Td>
                    <Button size="xs" variant="subtle" onClick={() => run(() => api.openProject({ dbPath: r.dbPath }))}>
                      Open
                    </Button>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </Card>
    </>
  );
}
