import { Card, Grid, Group, SegmentedControl, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { useMemo, useState } from 'react';
import type { Comparison } from '../../../src-main/api/contract';
import { PageHeader } from '../components/PageHeader';
import { ErrorNote } from '../components/ErrorNote';
import { RunPicker } from './RunPicker';
import { useApp, useQuery } from '../state';
import { pct, points } from '../format';

/** Changed images shown at once (the grid is not virtualised). */
const MAX_FLIPS_SHOWN = 120;
/** Longest class name the confusion matrix prints in full. */
const MATRIX_LABEL_CHARS = 18;

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
            <RunPicker label="Baseline" runs={runs.data} value={baseRunId} onChange={setBaseRunId} filter={(r) => r.kind === 'zeroshot'} testId="compare-base" />
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
            <Title order={4} mb="sm">
              Per class
            </Title>
            <Table verticalSpacing={5} data-testid="per-class">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Class</Table.Th>
                  <Table.Th ta="right">Zero-shot</Table.Th>
                  <Table.Th ta="right">Trained</Table.Th>
                  <Table.Th w={180}>Change (points)</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {c.perClass.map((r) => (
                  <Table.Tr key={r.classId} data-testid={`compare-class-${r.folder}`}>
                    <Table.Td fz="sm" fw={600}>
                      {names.get(r.classId) ?? r.folder}
                    </Table.Td>
                    <Table.Td ta="right" fz="sm">
                      {pct(r.base)}
                    </Table.Td>
                    <Table.Td ta="right" fz="sm">
                      {pct(r.trained)}
                    </Table.Td>
                    <Table.Td>
                      <DeltaBar delta={r.delta} />
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
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

function ConfusionMatrix({ labels, matrix }: { labels: string[]; matrix: number[][] }) {
  const n = labels.length;
  const cell = Math.max(14, Math.min(44, Math.floor(420 / Math.max(1, n))));
  // Room for the longest label (about 6 px a character at 10 px), within bounds.
  const labelW = Math.min(118, Math.max(50, 10 + 6 * Math.max(...labels.map((l) => Math.min(l.length, MATRIX_LABEL_CHARS)))));
  const axis = 16;
  const rowTotals = matrix.map((r) => r.reduce((a, b) => a + b, 0) || 1);
  const size = n * cell;
  const left = axis + labelW;
  const top = axis + labelW;
  const width = left + size + 40;
  const height = top + size + 4;
  // Drawn at its own size (shrunk only to fit), so the text reads the same for 4 classes or 40.
  return (
    <svg viewBox={`0 0 ${width} ${height}`} width={width} style={{ maxWidth: '100%', height: 'auto', display: 'block', margin: '0 auto' }} data-testid="confusion-matrix">
      <text x={left + size / 2} y={11} fontSize="11" fontWeight="600" textAnchor="middle" fill="#868e96">
        predicted
      </text>
      <text transform={`translate(11,${top + size / 2}) rotate(-90)`} fontSize="11" fontWeight="600" textAnchor="middle" fill="#868e96">
        true class
      </text>
      {labels.map((l, i) => (
        <g key={l}>
          <text x={left - 6} y={top + i * cell + cell / 2 + 4} fontSize="10" textAnchor="end" fill="#495057">
            {truncate(l, MATRIX_LABEL_CHARS)}
          </text>
          <text transform={`translate(${left + i * cell + cell / 2 + 3},${top - 6}) rotate(-55)`} fontSize="10" fill="#495057">
            {truncate(l, MATRIX_LABEL_CHARS)}
          </text>
        </g>
      ))}
      {matrix.map((row, i) =>
        row.map((v, j) => {
          const share = v / rowTotals[i];
          const fill = i === j ? `rgba(12,166,120,${0.12 + 0.88 * share})` : v ? `rgba(224,49,49,${0.12 + 0.88 * share})` : '#f1f3f5';
          return (
            <g key={`${i}-${j}`}>
              <rect x={left + j * cell} y={top + i * cell} width={cell - 1} height={cell - 1} fill={fill} rx={2}>
                <title>{`true ${labels[i]} → predicted ${labels[j]}: ${v}`}</title>
              </rect>
              {cell >= 22 && v > 0 && (
                <text x={left + j * cell + cell / 2} y={top + i * cell + cell / 2 + 4} fontSize="10" textAnchor="middle" fill={share > 0.5 ? '#fff' : '#212529'}>
                  {v}
                </text>
              )}
            </g>
          );
        }),
      )}
    </svg>
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

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
