import { ActionIcon, Badge, Button, Card, Grid, Group, Loader, NumberInput, ScrollArea, Stack, Table, Text, TextInput, Title, Tooltip } from '@mantine/core';
import { useEffect, useState } from 'react';
import type { ClassRow, SplitSummary } from '../../../src-main/api/contract';
import { PageHeader } from '../components/PageHeader';
import { JobPanel } from '../components/JobPanel';
import { ErrorNote } from '../components/ErrorNote';
import { PathInput } from '../components/PathInput';
import { useAction, useApp, useJob, useQuery } from '../state';

/** Classes listed before the table offers a filter box. */
const CLASS_FILTER_FROM = 12;
/** The class table's height before it scrolls. */
const CLASS_TABLE_HEIGHT = 640;

export function DatasetPage() {
  const { api, status, navigate } = useApp();
  const classes = useQuery((a) => a.listClasses(), [], ['classes', 'images']);
  const defaults = useQuery((a) => a.getTrainDefaults(), []);
  const importJob = useJob('import');
  const [folder, setFolder] = useState(status?.project?.dataFolder ?? '');
  const [shots, setShots] = useState<number | string>('');
  const [seed, setSeed] = useState<number | string>('');
  const [split, setSplit] = useState<SplitSummary | null>(null);
  const action = useAction();
  const { error } = action;

  useEffect(() => {
    if (defaults.data && shots === '') setShots(defaults.data.shots);
    if (defaults.data && seed === '') setSeed(defaults.data.seed);
  }, [defaults.data, shots, seed]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: reacts to a finished import only
  useEffect(() => {
    if (importJob.result) classes.reload();
  }, [importJob.result]);

  const applySplit = () =>
    action.run(async () => {
      setSplit(await api.makeSplit({ shots: Number(shots), seed: Number(seed) }));
      classes.reload();
    });

  const [classFilter, setClassFilter] = useState('');
  const wanted = classFilter.trim().toLowerCase();
  const shownClasses = (classes.data ?? []).filter((c) => !wanted || c.folder.toLowerCase().includes(wanted) || c.promptName.toLowerCase().includes(wanted));
  const totals = (classes.data ?? []).reduce(
    (t, c) => ({ train: t.train + c.counts.train, test: t.test + c.counts.test, excluded: t.excluded + c.counts.excluded, total: t.total + c.counts.total }),
    { train: 0, test: 0, excluded: 0, total: 0 },
  );

  return (
    <>
      <PageHeader
        title="Dataset"
        description="Classes come from folder names. The prompt name is what CLIP reads in “a photo of a {}.”: rename it when a folder name is not plain words."
        actions={
          <Button variant="light" onClick={() => navigate('curate')}>
            Curate images →
          </Button>
        }
      />
      <Grid gap="lg">
        <Grid.Col span={{ base: 12, lg: 8 }}>
          <Card withBorder padding="lg">
            <Group justify="space-between" mb="sm">
              <Title order={4}>Classes</Title>
              {classes.data ? (
                <Group gap="xs" data-testid="class-totals">
                  <Badge variant="light">{classes.data.length} classes</Badge>
                  <Badge variant="light" color="teal">
                    {totals.train} train
                  </Badge>
                  <Badge variant="light" color="orange">
                    {totals.test} test
                  </Badge>
                  {totals.excluded > 0 && (
                    <Badge variant="light" color="gray">
                      {totals.excluded} excluded
                    </Badge>
                  )}
                </Group>
              ) : (
                classes.loading && (
                  <Group gap="xs" data-testid="class-totals-loading">
                    <Loader size="xs" />
                    <Text size="xs" c="dimmed">
                      loading classes…
                    </Text>
                  </Group>
                )
              )}
            </Group>
            <ErrorNote error={classes.error} />
            {(classes.data?.length ?? 0) > CLASS_FILTER_FROM && (
              <TextInput
                size="xs"
                mb="xs"
                placeholder="Filter classes by folder or prompt name"
                value={classFilter}
                onChange={(e) => setClassFilter(e.currentTarget.value)}
                data-testid="class-filter"
              />
            )}
            <ScrollArea.Autosize mah={CLASS_TABLE_HEIGHT} type="auto">
              <Table striped highlightOnHover stickyHeader verticalSpacing={6} data-testid="class-table">
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Folder</Table.Th>
                    <Table.Th>Prompt name</Table.Th>
                    <Table.Th ta="right">Train</Table.Th>
                    <Table.Th ta="right">Test</Table.Th>
                    <Table.Th ta="right">Excluded</Table.Th>
                    <Table.Th ta="right">Total</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {shownClasses.map((c) => (
                    <ClassLine key={c.id} row={c} onSaved={classes.reload} />
                  ))}
                </Table.Tbody>
              </Table>
            </ScrollArea.Autosize>
          </Card>
        </Grid.Col>
        <Grid.Col span={{ base: 12, lg: 4 }}>
          <Stack gap="lg">
            <Card withBorder padding="lg">
              <Stack>
                <Title order={4}>Import</Title>
                <Text size="sm" c="dimmed">
                  Re-importing finds new, moved and changed files by their hash; your edits stay. Unreadable files are listed and skipped.
                </Text>
                <PathInput label="Image folder" kind="folder" value={folder} onChange={setFolder} testId="import-folder" />
                <Button
                  onClick={() => void importJob.start(() => api.importFolder({ folder }))}
                  disabled={!folder || importJob.running}
                  data-testid="import-start"
                >
                  {status?.project?.imageCount ? 'Re-import' : 'Import'}
                </Button>
                <JobPanel job={importJob.job} onCancel={importJob.cancel} startError={importJob.startError} />
                {importJob.result && (
                  <Text size="sm" c="teal">
                    Imported: {importJob.result.classCount} classes, {importJob.result.imageCount.toLocaleString()} images.
                  </Text>
                )}
              </Stack>
            </Card>
            <Card withBorder padding="lg">
              <Stack>
                <Title order={4}>Few-shot split</Title>
                <Text size="sm" c="dimmed">
                  K training images per class, drawn with a seed; the rest of the training split is unused, the test split scores every run.
                </Text>
                <Group grow>
                  <NumberInput label="Shots per class (K)" min={1} value={shots} onChange={setShots} data-testid="split-shots" />
                  <NumberInput label="Seed" value={seed} onChange={setSeed} data-testid="split-seed" />
                </Group>
                <Button variant="light" onClick={applySplit} disabled={shots === '' || seed === ''} data-testid="split-apply">
                  Draw shots
                </Button>
                <ErrorNote error={error} />
                {split && <SplitTable split={split} />}
              </Stack>
            </Card>
          </Stack>
        </Grid.Col>
      </Grid>
    </>
  );
}

function ClassLine({ row, onSaved }: { row: ClassRow; onSaved(): void }) {
  const { api } = useApp();
  const [name, setName] = useState(row.promptName);
  const action = useAction();
  const { error } = action;
  useEffect(() => setName(row.promptName), [row.promptName]);
  const dirty = name.trim() !== row.promptName;
  const save = async () => {
    if (!dirty) return;
    await action.run(async () => {
      await api.renameClass({ classId: row.id, promptName: name.trim() });
      onSaved();
    });
  };
  return (
    <Table.Tr>
      <Table.Td className="mono" fz="sm">
        {row.folder}
      </Table.Td>
      <Table.Td>
        <TextInput
          size="xs"
          value={name}
          error={error}
          onChange={(e) => setName(e.currentTarget.value)}
          onBlur={save}
          onKeyDown={(e) => e.key === 'Enter' && void save()}
          data-testid={`prompt-${row.folder}`}
          rightSection={
            dirty ? (
              <Tooltip label="Save (Enter)">
                <ActionIcon size="sm" variant="filled" onClick={save}>
                  ✓
                </ActionIcon>
              </Tooltip>
            ) : null
          }
        />
      </Table.Td>
      <Table.Td ta="right">{row.counts.train}</Table.Td>
      <Table.Td ta="right">{row.counts.test}</Table.Td>
      <Table.Td ta="right" c={row.counts.excluded ? 'dimmed' : undefined}>
        {row.counts.excluded}
      </Table.Td>
      <Table.Td ta="right" fw={600}>
        {row.counts.total}
      </Table.Td>
    </Table.Tr>
  );
}

function SplitTable({ split }: { split: SplitSummary }) {
  const short = Object.entries(split.perClass).filter(([, v]) => v.shots < split.shots);
  return (
    <Stack gap={4} data-testid="split-summary">
      <Text size="sm">
        {Object.keys(split.perClass).length} classes · {split.shots} shots · seed {split.seed}
      </Text>
      {short.length > 0 && (
        <Text size="xs" c="orange">
          Fewer than {split.shots} training images in: {short.map(([f, v]) => `${f} (${v.shots})`).join(', ')}
        </Text>
      )}
    </Stack>
  );
}
