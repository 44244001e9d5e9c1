import { Card, Grid, Group, ScrollArea, SegmentedControl, SimpleGrid, Stack, Table, Text, TextInput, Title, UnstyledButton } from '@mantine/core';
import { useMemo, useState } from 'react';
import type { Comparison } from '../../../src-main/api/contract';
import { ConfusionMatrix } from '../components/ConfusionMatrix';
import { PageHeader } from '../components/PageHeader';
import { ErrorNote } from '../components/ErrorNote';
import { RunPicker } from './RunPicker';
import { useApp, useQuery } from '../state';
import { pct, points } from '../format';

/** Changed images shown at once (the grid is not virtualised). */
const MAX_FLIPS_SHOWN = 120;
/** The per-class table's height before it scrolls (1,000 classes stay one card). */
const PER_CLASS_HEIGHT = 560;

type SortKey = 'name' | 'base' | 'trained' | 'delta';
type ClassResult = Comparison['perClass'][number];

export function ComparePage() {
  const runs = useQuery((a) => a.listRuns(), [], ['runs']);
  const classes = useQuery((a) => a.listClasses(), [], ['classes']);
  const [runId, setRunId] = useState<number | null>(null);
  const [baseRunId, setBaseRunId] = useState<number | null>(null);
  const cmp = useQuery((a) => (runId ? a.compareRuns({ runId, baseRunId: baseRunId ?? undefined }) : Promise.resolve(null)), [runId, baseRunId], ['runs']);
  const names = useMemo(() => new Map((classes.data ?? []).map((c) => [c.id, c.promptName])), [classes.data]);

  return (
    <>
      <PageHeader
        title="Compare"
        description="Zero-shot CLIP against the trained labels on the same test images: per class, as a confusion matrix, and image by image."
        actions={
          <Group align="flex-end" wrap="nowrap">
            <RunPicker
              label="Baseline"
              runs={runs.data}
              value={baseRunId}
              onChange={setBaseRunId}
              filter={(r) => r.kind === 'zeroshot'}
              testId="compare-base"
            />
            <RunPicker label="Trained run" runs={runs.data} value={runId} onChange={setRunId} filter={(r) => r.kind !== 'zeroshot'} testId="compare-run" />
          </Group>
        }
      />
      <ErrorNote error={runs.error ?? cmp.error} />
      {cmp.data && <ComparisonView c={cmp.data} names={names} />}
    </>
  );
}

function ComparisonView({ c, names }: { c: Comparison; names: Map<number, string> }) {
  const delta = c.accuracy.trained - c.accuracy.base;
  const promptNames = new Map(c.perClass.map((r) => [r.folder, names.get(r.classId) ?? r.folder]));
  return (
    <Stack gap="lg" data-testid="comparison">
      <SimpleGrid cols={3}>
        <Stat label={`Zero-shot (run #${c.baseRunId})`} value={pct(c.accuracy.base)} testId="compare-base-accuracy" />
        <Stat label={`Trained (run #${c.runId})`} value={pct(c.accuracy.trained)} testId="compare-trained-accuracy" />
        <Stat label="Change" value={`${points(delta)} pts`} color={delta >= 0 ? 'teal' : 'red'} testId="compare-change" />
      </SimpleGrid>
      <Grid gap="lg">
        <Grid.Col span={{ base: 12, xl: 6 }}>
          <Card withBorder padding="lg" h="100%">
            <PerClassTable c={c} names={names} />
          </Card>
        </Grid.Col>
        <Grid.Col span={{ base: 12, xl: 6 }}>
          <Card withBorder padding="lg" h="100%">
            <Title order={4} mb="sm">
              Confusion matrix (trained)
            </Title>
            <ConfusionMatrix labels={c.confusion.labels.map((folder) => promptNames.get(folder) ?? folder)} matrix={c.confusion.matrix} />
          </Card>
        </Grid.Col>
      </Grid>
      <Flips c={c} names={names} />
    </Stack>
  );
}

function PerClassTable({ c, names }: { c: Comparison; names: Map<number, string> }) {
  const [filter, setFilter] = useState('');
  const [sort, setSort] = useState<{ key: SortKey; descending: boolean }>({ key: 'name', descending: false });
  const nameOf = (r: ClassResult) => names.get(r.classId) ?? r.folder;
  const rows = useMemo(() => {
    const nameOf = (r: ClassResult) => names.get(r.classId) ?? r.folder;
    const wanted = filter.trim().toLowerCase();
    const kept = c.perClass.filter((r) => !wanted || nameOf(r).toLowerCase().includes(wanted) || r.folder.toLowerCase().includes(wanted));
    const value = (r: ClassResult) => (sort.key === 'name' ? nameOf(r) : r[sort.key]);
    return kept.sort((a, b) => {
      const va = value(a);
      const vb = value(b);
      const order = typeof va === 'string' ? va.localeCompare(vb as string) : (va as number) - (vb as number);
      return sort.descending ? -order : order;
    });
  }, [c.perClass, names, filter, sort]);
  const header = (key: SortKey, label: string, align?: 'right') => (
    <Table.Th ta={align}>
      <UnstyledButton
        fz="sm"
        fw={700}
        onClick={() => setSort((s) => ({ key, descending: s.key === key ? !s.descending : key !== 'name' }))}
        data-testid={`sort-${key}`}
      >
        {label}
        {sort.key === key ? (sort.descending ? ' ↓' : ' ↑') : ''}
      </UnstyledButton>
    </Table.Th>
  );
  return (
    <>
      <Group justify="space-between" mb="sm">
        <Title order={4}>Per class</Title>
        <TextInput size="xs" placeholder="Filter classes" value={filter} onChange={(e) => setFilter(e.currentTarget.value)} data-testid="per-class-filter" />
      </Group>
      <ScrollArea.Autosize mah={PER_CLASS_HEIGHT} type="auto">
        <Table verticalSpacing={5} stickyHeader data-testid="per-class">
          <Table.Thead>
            <Table.Tr>
              {header('name', 'Class')}
              {header('base', 'Zero-shot', 'right')}
              {header('trained', 'Trained', 'right')}
              {header('delta', 'Change (points)')}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((r) => (
              <Table.Tr key={r.classId} data-testid={`compare-class-${r.folder}`}>
                <Table.Td fz="sm" fw={600}>
                  {nameOf(r)}
                </Table.Td>
                <Table.Td ta="right" fz="sm">
                  {pct(r.base)}
                </Table.Td>
                <Table.Td ta="right" fz="sm">
                  {pct(r.trained)}
                </Table.Td>
                <Table.Td w={180}>
                  <DeltaBar delta={r.delta} />
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </ScrollArea.Autosize>
      {rows.length < c.perClass.length && (
        <Text size="xs" c="dimmed" mt={4}>
          {rows.length} of {c.perClass.length} classes
        </Text>
      )}
    </>
  );
}

function Stat({ label, value, color, testId }: { label: string; value: string; color?: string; testId?: string }) {
  return (
    <Card withBorder padding="md" data-testid={testId}>
      <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
        {label}
      </Text>
      <Text size="xl" fw={700} c={color}>
        {value}
      </Text>
    </Card>
  );
}

function DeltaBar({ delta }: { delta: number }) {
  const w = Math.min(50, Math.abs(delta) * 100 * 0.5 * 2);
  const color = delta >= 0 ? 'var(--mantine-color-teal-6)' : 'var(--mantine-color-red-6)';
  return (
    <Group gap={6} wrap="nowrap">
      <div style={{ position: 'relative', width: 100, height: 10, background: 'var(--mantine-color-gray-1)', borderRadius: 3 }}>
        <div style={{ position: 'absolute', left: 50, top: -2, width: 1, height: 14, background: 'var(--mantine-color-gray-5)' }} />
        <div style={{ position: 'absolute', top: 0, height: 10, borderRadius: 3, background: color, left: delta >= 0 ? 50 : 50 - w, width: w }} />
      </div>
      <Text size="xs" fw={600} c={delta > 0 ? 'teal' : delta < 0 ? 'red' : 'dimmed'} w={56} ta="right">
        {points(delta)}
      </Text>
    </Group>
  );
}

function Flips({ c, names }: { c: Comparison; names: Map<number, string> }) {
  const { thumbUrl } = useApp();
  const [which, setWhich] = useState<'fixed' | 'broken'>('fixed');
  const list = c.flips.filter((f) => f.fixed === (which === 'fixed'));
  const fixedCount = c.flips.filter((f) => f.fixed).length;
  return (
    <Card withBorder padding="lg" data-testid="flips-card">
      <Group justify="space-between" mb="sm">
        <div>
          <Title order={4}>Images that changed</Title>
          <Text size="xs" c="dimmed">
            Test images zero-shot CLIP got wrong and the trained labels get right, or the other way round
            {list.length > MAX_FLIPS_SHOWN ? ` (the first ${MAX_FLIPS_SHOWN} of ${list.length} shown)` : ''}.
          </Text>
        </div>
        <SegmentedControl
          value={which}
          onChange={(v) => setWhich(v as 'fixed' | 'broken')}
          data={[
            { value: 'fixed', label: `Fixed by training (${fixedCount})` },
            { value: 'broken', label: `Broken by training (${c.flips.length - fixedCount})` },
          ]}
          data-testid="flips-filter"
        />
      </Group>
      {list.length === 0 && (
        <Text size="sm" c="dimmed">
          None.
        </Text>
      )}
      <div style={{ display: 'grid', gridTemplateColumns: 'repeat(auto-fill, minmax(128px, 1fr))', gap: 12 }} data-testid="flips">
        {list.slice(0, MAX_FLIPS_SHOWN).map((f) => (
          <div key={f.imageId} data-testid="flip">
            <div className="thumb-cell" style={{ aspectRatio: '1 / 1' }}>
              <img src={thumbUrl(f.imageId)} loading="lazy" alt="" />
            </div>
            <Text size="xs" mt={4} fw={700} truncate>
              {names.get(f.trueClassId)}
            </Text>
            <Text size="xs" c={f.fixed ? 'red.7' : 'teal.7'} truncate>
              was: {names.get(f.baseClassId)}
            </Text>
            <Text size="xs" c={f.fixed ? 'teal.7' : 'red.7'} truncate>
              now: {names.get(f.trainedClassId)}
            </Text>
          </div>
        ))}
      </div>
    </Card>
  );
}
