import { Badge, Button, Card, Grid, Group, Radio, Stack, Table, Text, Title } from '@mantine/core';
import { useEffect, useState } from 'react';
import { PageHeader } from '../components/PageHeader';
import { PathInput } from '../components/PathInput';
import { JobPanel, formatBytes } from '../components/JobPanel';
import { ErrorNote } from '../components/ErrorNote';
import { useAction, useApp, useJob, useQuery } from '../state';

export function ModelPage() {
  const { api, status, refreshStatus, navigate } = useApp();
  const models = useQuery((a) => a.listModels(), [], ['models']);
  const downloadable = useQuery((a) => a.listDownloadableModels(), []);
  const download = useJob('download');
  const [folder, setFolder] = useState('');
  const [repo, setRepo] = useState<string | null>(null);
  const [dest, setDest] = useState('');
  const action = useAction();
  const adding = useAction();
  const error = action.error ?? adding.error;

  useEffect(() => {
    if (!repo && downloadable.data?.length) setRepo(downloadable.data[0].repo);
  }, [downloadable.data, repo]);
  useEffect(() => {
    const projectDir = status?.project?.dbPath.replace(/[\\/][^\\/]*$/, '');
    if (!dest && repo && projectDir) setDest(`${projectDir}/models/${repo.replace('/', '--')}`);
  }, [repo, dest, status?.project?.dbPath]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: reacts to a finished download only
  useEffect(() => {
    if (download.result) {
      models.reload();
      void refreshStatus();
    }
  }, [download.result]);

  const afterChange = async () => {
    models.reload();
    await refreshStatus();
  };
  const act = (f: () => Promise<unknown>) =>
    action.run(async () => {
      await f();
      await afterChange();
    });
  const add = () =>
    adding.run(async () => {
      await api.addModel({ folder });
      await afterChange();
    });

  return (
    <>
      <PageHeader
        title="Model"
        description="A CLIP model as a Hugging Face folder (config.json, model.safetensors, vocab.json, merges.txt). Features are cached per model, so switching back is instant."
        actions={
          <Button variant="light" onClick={() => navigate('train')}>
            Train →
          </Button>
        }
      />
      <ErrorNote error={error ?? models.error} />
      <Card withBorder padding="lg" mb="lg">
        <Title order={4} mb="sm">
          Models in this project
        </Title>
        {models.data?.length === 0 && (
          <Text size="sm" c="dimmed">
            None yet: open a folder or download one below.
          </Text>
        )}
        {!!models.data?.length && (
          <Table verticalSpacing="xs" data-testid="model-table">
            <Table.Thead>
              <Table.Tr>
                <Table.Th w={40} />
                <Table.Th>Name</Table.Th>
                <Table.Th>Architecture</Table.Th>
                <Table.Th>Folder</Table.Th>
                <Table.Th>SHA-256 (weights)</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {models.data.map((m) => (
                <Table.Tr key={m.id}>
                  <Table.Td>
                    <Radio
                      checked={status?.project?.modelId === m.id}
                      onChange={() => act(() => api.selectModel({ modelId: m.id }))}
                      aria-label={`use ${m.name}`}
                    />
                  </Table.Td>
                  <Table.Td fw={600}>
                    {m.name}{' '}
                    {status?.project?.modelId === m.id && (
                      <Badge size="xs" ml={6}>
                        in use
                      </Badge>
                    )}
                  </Table.Td>
                  <Table.Td fz="sm">{m.summary}</Table.Td>
                  <Table.Td className="mono" fz="xs">
                    {m.folder}
                  </Table.Td>
                  <Table.Td className="mono" fz="xs">
                    {m.sha256.slice(0, 16)}…
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </Card>
      <Grid gap="lg">
        <Grid.Col span={{ base: 12, md: 6 }}>
          <Card withBorder padding="lg" h="100%">
            <Stack>
              <Title order={4}>Open a Hugging Face folder</Title>
              <Text size="sm" c="dimmed">
                Any CLIP saved by transformers: sizes are read from config.json; F32, F16 and BF16 weights are accepted.
              </Text>
              <PathInput
                label="Model folder"
                kind="folder"
                value={folder}
                onChange={setFolder}
                placeholder="/models/clip-vit-base-patch16"
                testId="model-folder"
              />
              <Group>
                <Button onClick={add} loading={adding.busy} disabled={!folder} data-testid="add-model">
                  Add model
                </Button>
              </Group>
            </Stack>
          </Card>
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 6 }}>
          <Card withBorder padding="lg" h="100%">
            <Stack>
              <Title order={4}>Download from Hugging Face</Title>
              <Text size="sm" c="dimmed">
                Pinned to one revision; every file is checked against its SHA-256 before use. An interrupted download resumes where it stopped.
              </Text>
              <Radio.Group value={repo} onChange={setRepo}>
                <Stack gap={6}>
                  {(downloadable.data ?? []).map((m) => (
                    <Radio
                      key={m.repo}
                      value={m.repo}
                      label={
                        <Group gap={6}>
                          <Text size="sm" fw={600}>
                            {m.title}
                          </Text>
                          <Text size="xs" c="dimmed" className="mono">
                            {m.repo}@{m.revision.slice(0, 7)}
                          </Text>
                          <Badge size="xs" variant="light">
                            ~{formatBytes(m.sizeBytes)}
                          </Badge>
                        </Group>
                      }
                    />
                  ))}
                </Stack>
              </Radio.Group>
              <PathInput label="Save to" kind="folder" value={dest} onChange={setDest} testId="download-dest" />
              <Group>
                <Button
                  variant="light"
                  disabled={!repo || !dest || download.running}
                  onClick={() => void download.start(() => api.downloadModel({ repo: repo!, destFolder: dest }))}
                  data-testid="download-model"
                >
                  Download
                </Button>
              </Group>
              <JobPanel job={download.job} onCancel={download.cancel} startError={download.startError} showLogs={false} />
            </Stack>
          </Card>
        </Grid.Col>
      </Grid>
    </>
  );
}
