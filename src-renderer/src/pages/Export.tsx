import { Badge, Button, Card, Grid, Group, List, Progress, SegmentedControl, Stack, Table, Text, Textarea, Title, Tooltip } from '@mantine/core';
import { useEffect, useState } from 'react';
import type { ExportFormat } from '../../../src-main/api/contract';
import { PageHeader } from '../components/PageHeader';
import { PathInput } from '../components/PathInput';
import { JobPanel } from '../components/JobPanel';
import { ErrorNote } from '../components/ErrorNote';
import { RunPicker } from './RunPicker';
import { useApp, useJob, useQuery } from '../state';
import { keepEnd, splitPath } from '../format';

const FORMATS: { value: ExportFormat; label: string; hint: string }[] = [
  { value: 'safetensors', label: 'safetensors', hint: 'label_embeddings, label_embeddings_init, text_features + manifest.json' },
  { value: 'npy', label: '.npy', hint: 'one NumPy file per tensor + manifest.json' },
  { value: 'json', label: 'JSON', hint: 'everything in one readable file' },
];

export function ExportPage() {
  const { api, status } = useApp();
  const runs = useQuery((a) => a.listRuns(), [], ['runs']);
  const exportJob = useJob('export');
  const classify = useJob('classify');
  const [runId, setRunId] = useState<number | null>(null);
  const [format, setFormat] = useState<ExportFormat>('safetensors');
  const [out, setOut] = useState('');
  const [exportPath, setExportPath] = useState('');
  const [images, setImages] = useState('');

  const projectDir = status?.project?.dbPath.replace(/[\\/][^\\/]*$/, '') ?? '';
  useEffect(() => {
    if (runId !== null && projectDir) setOut(`${projectDir}/exports/run-${runId}-${format}`);
  }, [runId, format, projectDir]);
  useEffect(() => {
    if (exportJob.result?.files.length) setExportPath(exportJob.result.files[0]);
  }, [exportJob.result]);

  const imageList = images
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);

  return (
    <>
      <PageHeader
        title="Export"
        description="Save the trained classifier for deployment, then try it on new images: the export is loaded back exactly as another program would load it."
      />
      <Grid gap="lg">
        <Grid.Col span={{ base: 12, lg: 6 }}>
          <Card withBorder padding="lg" h="100%">
            <Stack>
              <Title order={4}>Export a run</Title>
              <RunPicker label="Run" runs={runs.data} value={runId} onChange={setRunId} filter={() => true} testId="export-run" />
              <div>
                <Text size="sm" fw={500} mb={4}>
                  Format
                </Text>
                <SegmentedControl
                  value={format}
                  onChange={(v) => setFormat(v as ExportFormat)}
                  data={FORMATS.map((f) => ({ value: f.value, label: f.label }))}
                  data-testid="export-format"
                />
                <Text size="xs" c="dimmed" mt={4}>
                  {FORMATS.find((f) => f.value === format)?.hint}
                </Text>
              </div>
              <PathInput label="Save to" kind="save" value={out} onChange={setOut} testId="export-out" />
              <Group>
                <Button
                  disabled={runId === null || !out || exportJob.running}
                  onClick={() => void exportJob.start(() => api.exportRun({ runId: runId!, format, out }))}
                  data-testid="export-start"
                >
                  Export
                </Button>
              </Group>
              <JobPanel job={exportJob.job} onCancel={exportJob.cancel} startError={exportJob.startError} showLogs={false} />
              {exportJob.result && (
                <div data-testid="export-files">
                  <Text size="sm" fw={600} c="teal">
                    Written
                  </Text>
                  <Text size="xs" c="dimmed" className="mono" style={{ wordBreak: 'break-all' }}>
                    {splitPath(exportJob.result.files[0] ?? '').folder}
                  </Text>
                  <List size="sm" className="mono">
                    {exportJob.result.files.map((f) => (
                      <List.Item key={f}>{splitPath(f).name}</List.Item>
                    ))}
                  </List>
                </div>
              )}
            </Stack>
          </Card>
        </Grid.Col>
        <Grid.Col span={{ base: 12, lg: 6 }}>
          <Card withBorder padding="lg" h="100%">
            <Stack>
              <Title order={4}>Classify new images with an export</Title>
              <PathInput label="Export (its manifest or folder)" kind="file" value={exportPath} onChange={setExportPath} testId="classify-export" />
              <Textarea
                label="Images"
                description="One path per line"
                autosize
                minRows={3}
                maxRows={8}
                value={images}
                onChange={(e) => setImages(e.currentTarget.value)}
                classNames={{ input: 'mono' }}
                data-testid="classify-images"
              />
              <Group>
                <Button
                  disabled={!exportPath || imageList.length === 0 || classify.running}
                  onClick={() => void classify.start(() => api.classifyImages({ exportPath, images: imageList }))}
                  data-testid="classify-start"
                >
                  Classify
                </Button>
              </Group>
              <JobPanel
                job={classify.job?.status === 'done' ? null : classify.job}
                onCancel={classify.cancel}
                startError={classify.startError}
                showLogs={false}
              />
              {classify.result && (
                <Table verticalSpacing={6} data-testid="classify-results">
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th>Image</Table.Th>
                      <Table.Th>Prediction</Table.Th>
                      <Table.Th>Runners-up</Table.Th>
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {classify.result.map((r) => (
                      <Table.Tr key={r.image} data-testid="classify-row">
                        <Table.Td maw={220}>
                          <Tooltip label={r.image}>
                            <div>
                              <Text size="sm" fw={600} className="mono" truncate>
                                {splitPath(r.image).name}
                              </Text>
                              <Text size="xs" c="dimmed" className="mono" truncate>
                                {keepEnd(splitPath(r.image).folder, 24)}
                              </Text>
                            </div>
                          </Tooltip>
                        </Table.Td>
                        <Table.Td>
                          <Text size="sm" fw={700} data-testid="classify-prediction">
                            {r.ranked[0]?.promptName}
                          </Text>
                          <Progress value={100 * (r.ranked[0]?.probability ?? 0)} size="xs" w={120} />
                          <Text size="xs" c="dimmed">
                            {(100 * (r.ranked[0]?.probability ?? 0)).toFixed(1)}%
                          </Text>
                        </Table.Td>
                        <Table.Td>
                          <Group gap={4}>
                            {r.ranked.slice(1, 4).map((x) => (
                              <Badge key={x.folder} variant="light" color="gray" tt="none">
                                {x.promptName} {(100 * x.probability).toFixed(0)}%
                              </Badge>
                            ))}
                          </Group>
                        </Table.Td>
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
              )}
              <ErrorNote error={runs.error} />
            </Stack>
          </Card>
        </Grid.Col>
      </Grid>
    </>
  );
}
