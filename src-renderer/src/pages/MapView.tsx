// The embedding map: every image's CLIP features in 2-D (PCA at once, UMAP when its job is
// done; both cached by the engine), coloured by class, with train/test/shots/excluded/flagged
// marked, each class's zero-shot label and a chosen run's learned label with an arrow between
// them, and lasso selection listing the chosen images.
import { Badge, Button, Card, Group, Image, Progress, SegmentedControl, SimpleGrid, Stack, Text, Tooltip } from '@mantine/core';
import { useEffect, useMemo, useState } from 'react';
import type { EmbeddingMap, MapProjection } from '../../../src-main/api/contract';
import { PageHeader } from '../components/PageHeader';
import { ErrorNote } from '../components/ErrorNote';
import { categoryColors, MARKS, ScatterMap, type LabelArrow, type ScatterData } from '../components/ScatterMap';
import { RunPicker } from './RunPicker';
import { useApp, useJob, useQuery } from '../state';

/** Thumbnails listed for a selection; the count says how many more there are. */
const SHOWN_SELECTION = 120;

export function MapPage() {
  const { api, thumbUrl, jobs } = useApp();
  const runs = useQuery((a) => a.listRuns(), [], ['runs']);
  const classes = useQuery((a) => a.listClasses(), [], ['classes', 'images']);
  const [runId, setRunId] = useState<number | null>(null);
  const [projection, setProjection] = useState<MapProjection>('umap');
  const [lasso, setLasso] = useState(false);
  const [selected, setSelected] = useState<number[]>([]);
  const job = useJob('map');
  const [maps, setMaps] = useState<Partial<Record<MapProjection, EmbeddingMap>>>({});

  // PCA first (seconds), then UMAP (a job with progress); each kept until the run changes.
  // biome-ignore lint/correctness/useExhaustiveDependencies: restarts only when the run changes
  useEffect(() => {
    setMaps({});
    setSelected([]);
    if (runs.loading) return;
    void job.start(() => api.startEmbeddingMap({ projection: 'pca', ...(runId ? { runId } : {}) }));
  }, [runId, runs.loading]);
  useEffect(() => {
    const r = job.result;
    if (!r || (runId ?? null) !== r.runId || maps[r.projection] === r) return;
    setMaps((m) => ({ ...m, [r.projection]: r }));
    if (r.projection === 'pca' && !maps.umap) void job.start(() => api.startEmbeddingMap({ projection: 'umap', ...(runId ? { runId } : {}) }));
  }, [job.result, runId, maps, api, job.start]);

  const shown = maps[projection] ?? maps.pca ?? null;
  // A redraw clears the scatterplot's selection: so does the list.
  // biome-ignore lint/correctness/useExhaustiveDependencies: clears when the map shown changes
  useEffect(() => setSelected([]), [shown]);
  // Flags as Curate has them: the last finished mislabel and duplicate searches.
  const flagged = useMemo(() => {
    const ids = new Set<number>();
    for (const j of Object.values(jobs)) {
      if (j.status !== 'done') continue;
      if (j.kind === 'mislabels') for (const c of j.result as { imageId: number }[]) ids.add(c.imageId);
      if (j.kind === 'duplicates') for (const g of j.result as { imageIds: number[] }[]) for (const id of g.imageIds) ids.add(id);
    }
    return ids;
  }, [jobs]);
  const classIndex = useMemo(() => new Map((classes.data ?? []).map((c, i) => [c.id, i])), [classes.data]);
  const colors = useMemo(() => categoryColors(Math.max(1, classIndex.size)), [classIndex]);
  const data = useMemo<ScatterData | null>(() => {
    if (!shown) return null;
    const n = shown.points.length;
    const d: ScatterData = { x: new Float32Array(n), y: new Float32Array(n), color: new Int32Array(n), mark: new Int32Array(n) };
    shown.points.forEach((p, i) => {
      d.x[i] = p.x;
      d.y[i] = p.y;
      d.color[i] = classIndex.get(p.classId) ?? 0;
      const mark = flagged.has(p.id) ? 'flagged' : p.excluded ? 'excluded' : p.isShot ? 'shot' : p.split;
      d.mark[i] = MARKS.indexOf(mark);
    });
    return d;
  }, [shown, classIndex, flagged]);
  const labels = useMemo<LabelArrow[]>(
    () => (shown?.labels ?? []).map((l) => ({ name: l.promptName, color: colors[classIndex.get(l.classId) ?? 0], from: l.zeroShot, to: l.learned })),
    [shown, colors, classIndex],
  );
  const selectedIds = useMemo(() => (shown ? selected.map((i) => shown.points[i]?.id).filter((id) => id !== undefined) : []), [selected, shown]);
  const classById = useMemo(() => new Map((classes.data ?? []).map((c) => [c.id, c])), [classes.data]);
  const umapRunning = job.running && job.job?.title.includes('UMAP');
  const progress = job.job?.progress;

  return (
    <>
      <PageHeader
        title="Map"
        description="The images' CLIP features in 2-D, coloured by class. Rings are zero-shot labels, diamonds a trained run's learned labels: the arrow shows where LAMM moved each label, towards which images. Shift + drag (or Lasso) selects."
        actions={
          <>
            <RunPicker label="Learned labels from" runs={runs.data} value={runId} onChange={setRunId} filter={(r) => r.kind !== 'zeroshot'} testId="map-run" />
            <SegmentedControl
              value={projection}
              onChange={(v) => setProjection(v as MapProjection)}
              data={[
                { value: 'pca', label: 'PCA' },
                { value: 'umap', label: maps.umap ? 'UMAP' : 'UMAP …' },
              ]}
              data-testid="map-projection"
            />
            <Button variant={lasso ? 'filled' : 'default'} onClick={() => setLasso((l) => !l)} data-testid="map-lasso">
              Lasso
            </Button>
          </>
        }
      />
      <ErrorNote error={runs.error ?? classes.error ?? job.startError ?? (job.job?.status === 'failed' ? (job.job.error ?? 'the map failed') : null)} />
      <Group gap="xs" mb="xs" data-testid="map-status">
        {shown ? (
          <Text size="sm" c="dimmed">
            {shown.points.length} images · {shown.labels.length} classes · {shown.projection.toUpperCase()}
            {shown.cached ? ' (cached)' : ''}
            {projection === 'umap' && !maps.umap ? ' — showing PCA until UMAP is ready' : ''}
          </Text>
        ) : (
          <Text size="sm" c="dimmed">
            Computing the map…
          </Text>
        )}
        {umapRunning && progress && (
          <Group gap="xs" w={320}>
            <Text size="xs">{progress.stage === 'umap' ? `UMAP epoch ${progress.done}/${progress.total}` : progress.stage}</Text>
            <Progress value={(100 * progress.done) / Math.max(1, progress.total)} w={140} size="sm" />
            <Button size="compact-xs" variant="subtle" onClick={job.cancel}>
              Cancel
            </Button>
          </Group>
        )}
        <Legend />
      </Group>
      {data && <ScatterMap data={data} colors={colors} labels={labels} height="62vh" lasso={lasso} onSelect={setSelected} testId="map-canvas" />}
      {selectedIds.length > 0 && (
        <Card withBorder mt="md" data-testid="map-selection">
          <Stack gap="xs">
            <Group justify="space-between">
              <Text fw={600}>{selectedIds.length} selected</Text>
              <Group gap="xs">
                {[...countBy(selectedIds.map((id) => shown!.points.find((p) => p.id === id)!.classId))].map(([cid, n]) => (
                  <Badge key={cid} color={colors[classIndex.get(cid) ?? 0]} variant="light">
                    {classById.get(cid)?.folder ?? cid}: {n}
                  </Badge>
                ))}
              </Group>
            </Group>
            <SimpleGrid cols={{ base: 6, md: 10, lg: 14 }} spacing={6}>
              {selectedIds.slice(0, SHOWN_SELECTION).map((id) => (
                <Tooltip key={id} label={`#${id}`}>
                  <Image src={thumbUrl(id)} radius="sm" h={64} w={64} fit="cover" />
                </Tooltip>
              ))}
            </SimpleGrid>
            {selectedIds.length > SHOWN_SELECTION && (
              <Text size="xs" c="dimmed">
                and {selectedIds.length - SHOWN_SELECTION} more
              </Text>
            )}
          </Stack>
        </Card>
      )}
    </>
  );
}

function Legend() {
  return (
    <Group gap={10} ml="auto">
      {[
        ['train', 'filled'],
        ['test', 'faint'],
        ['shot', 'large'],
        ['excluded', 'very faint'],
        ['flagged', 'red ring'],
      ].map(([k, v]) => (
        <Text key={k} size="xs" c="dimmed">
          <b>{k}</b> {v}
        </Text>
      ))}
    </Group>
  );
}

function countBy<T>(xs: T[]): Map<T, number> {
  const m = new Map<T, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}
