import { Accordion, Badge, Button, Card, Checkbox, Grid, Group, NumberInput, Select, Stack, Switch, Table, Text, TextInput, Title } from '@mantine/core';
import { useEffect, useMemo, useState } from 'react';
import {
  LOSS_TERMS,
  METHOD_SPECS,
  TRAIN_METHODS,
  WEIGHTED_LOSS_TERMS,
  type EpochRecord,
  type RunDetail,
  type RunSummary,
  type TrainConfig,
} from '../../../src-main/api/contract';
import { PageHeader } from '../components/PageHeader';
import { JobPanel } from '../components/JobPanel';
import { ErrorNote } from '../components/ErrorNote';
import { LineChart, type Series } from '../components/LineChart';
import { SERIES_COLORS, termColor } from '../theme';
import { formatWhen, pct } from '../format';
import { useAction, useApp, useEvent, useJob, useQuery } from '../state';

/** `λ_kd·T²·CE(p, q)`: a term as the loss formula writes it. */
const weighted = (t: (typeof LOSS_TERMS)[number]) => (t.weight === null ? t.formula : `λ_${t.weight}·${t.formula}`);
const LOSS_FORMULA = `loss = ${LOSS_TERMS.map(weighted).join(' + ')}`;

export function TrainPage() {
  const { api, navigate } = useApp();
  const defaults = useQuery((a) => a.getTrainDefaults(), []);
  const runs = useQuery((a) => a.listRuns(), [], ['runs']);
  const classes = useQuery((a) => a.listClasses(), [], ['classes']);
  const train = useJob('train');
  const zeroshot = useJob('zeroshot');
  const [config, setConfig] = useState<TrainConfig | null>(null);
  const [selectedRun, setSelectedRun] = useState<number | null>(null);
  const [live, setLive] = useState<Record<number, EpochRecord[]>>({});
  const [mergePick, setMergePick] = useState<Set<number>>(new Set());
  const togglePick = (id: number) =>
    setMergePick((prev) => {
      const next = new Set(prev);
      if (!next.delete(id)) next.add(id);
      return next;
    });

  useEffect(() => {
    if (defaults.data && !config) setConfig(defaults.data);
  }, [defaults.data, config]);

  // Epochs stream in while a run trains; the chart follows the newest running run.
  useEvent('run:update', ({ runId, status, epoch }) => {
    if (epoch) setLive((prev) => ({ ...prev, [runId]: [...(prev[runId] ?? []).filter((e) => e.epoch !== epoch.epoch), epoch] }));
    if (status === 'running') setSelectedRun((cur) => cur ?? runId);
    if (status !== 'running' || !epoch) runs.reload();
  });
  useEffect(() => {
    if (train.running) setSelectedRun(null);
  }, [train.running]);
  // A finished zero-shot run is the baseline the user came for: show it.
  useEffect(() => {
    if (zeroshot.result) setSelectedRun(zeroshot.result.id);
  }, [zeroshot.result]);

  const runDetail = useQuery((a) => (selectedRun ? a.getRun({ runId: selectedRun }) : Promise.resolve(null)), [selectedRun], ['runs']);
  const log = useMemo(() => {
    const stored = runDetail.data?.log ?? [];
    const streamed = selectedRun ? (live[selectedRun] ?? []) : [];
    const byEpoch = new Map<number, EpochRecord>();
    for (const e of [...stored, ...streamed]) byEpoch.set(e.epoch, e);
    return [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
  }, [runDetail.data, live, selectedRun]);
  const names = useMemo(() => new Map((classes.data ?? []).map((c) => [c.folder, c.promptName])), [classes.data]);

  const set = <K extends keyof TrainConfig>(key: K, value: TrainConfig[K]) => setConfig((c) => (c ? { ...c, [key]: value } : c));
  const setLambda = (key: keyof TrainConfig['lambdas'], value: number) => setConfig((c) => (c ? { ...c, lambdas: { ...c.lambdas, [key]: value } } : c));
  const num = (v: number | string) => (typeof v === 'number' ? v : Number(v));

  const lossSeries: Series[] = [
    { key: 'loss', label: 'total (weighted)', color: SERIES_COLORS.loss, points: log.map((e) => [e.epoch, e.loss]) },
    // A term a run did not log (it was added later) has no points.
    ...LOSS_TERMS.map((t, i) => ({
      key: t.name,
      label: `${t.label} ${t.formula}`,
      color: termColor(i),
      points: log.filter((e) => Number.isFinite(e.terms[t.name])).map((e): [number, number] => [e.epoch, e.terms[t.name]]),
    })),
  ];
  const accSeries: Series[] = [
    { key: 'trainAccuracy', label: 'train accuracy', color: SERIES_COLORS.trainAccuracy, points: log.map((e) => [e.epoch, e.trainAccuracy]) },
    {
      key: 'testAccuracy',
      label: 'test accuracy',
      color: SERIES_COLORS.testAccuracy,
      points: log.filter((e) => e.testAccuracy !== null).map((e) => [e.epoch, e.testAccuracy!]),
    },
  ];
  const lrSeries: Series[] = [{ key: 'lr', label: 'learning rate', color: SERIES_COLORS.lr, points: log.map((e) => [e.epoch, e.lr]) }];
  const shownRun = runs.data?.find((r) => r.id === selectedRun);

  return (
    <>
      <PageHeader
        title="Train"
        description="Zero-shot CLIP first, as the baseline; then LAMM learns the label tokens of each class name. Training runs in a background worker: the app stays usable."
        actions={
          <Button variant="light" onClick={() => navigate('inspect')}>
            Inspect →
          </Button>
        }
      />
      <Grid gap="lg">
        <Grid.Col span={{ base: 12, lg: 4 }}>
          <Card withBorder padding="lg">
            {config && (
              <Stack gap="sm">
                <Group justify="space-between">
                  <Title order={4}>Configuration</Title>
                  <Button variant="subtle" size="compact-xs" onClick={() => defaults.data && setConfig(defaults.data)}>
                    Reset to defaults
                  </Button>
                </Group>
                <Select
                  label="Method"
                  data={TRAIN_METHODS.map((m) => ({ value: m, label: METHOD_SPECS[m].label }))}
                  value={config.method}
                  onChange={(v) => v && set('method', v as TrainConfig['method'])}
                  allowDeselect={false}
                  data-testid="train-method"
                />
                <TextInput
                  label="Prompt template"
                  value={config.template}
                  onChange={(e) => set('template', e.currentTarget.value)}
                  classNames={{ input: 'mono' }}
                />
                <Group grow>
                  <NumberInput label="Shots per class (K)" min={1} value={config.shots} onChange={(v) => set('shots', num(v))} data-testid="train-shots" />
                  <NumberInput label="Seed" value={config.seed} onChange={(v) => set('seed', num(v))} />
                </Group>
                <Group grow>
                  <NumberInput label="Epochs" min={1} value={config.epochs} onChange={(v) => set('epochs', num(v))} data-testid="train-epochs" />
                  <NumberInput label="Batch size" min={1} value={config.batchSize} onChange={(v) => set('batchSize', num(v))} />
                </Group>
                <Accordion variant="contained" multiple chevronPosition="right" mt={4}>
                  <Accordion.Item value="optimiser">
                    <Accordion.Control>
                      <SectionTitle title="Optimiser" summary={`lr ${config.lr}`} />
                    </Accordion.Control>
                    <Accordion.Panel>
                      <Stack gap="sm">
                        <Group grow>
                          <NumberInput label="Learning rate" step={0.001} decimalScale={6} value={config.lr} onChange={(v) => set('lr', num(v))} />
                          <NumberInput label="Warm-up lr" step={0.00001} decimalScale={7} value={config.warmupLr} onChange={(v) => set('warmupLr', num(v))} />
                        </Group>
                        <Group grow>
                          <NumberInput label="Momentum" step={0.05} decimalScale={3} value={config.momentum} onChange={(v) => set('momentum', num(v))} />
                          <NumberInput
                            label="Weight decay"
                            step={0.0001}
                            decimalScale={6}
                            value={config.weightDecay}
                            onChange={(v) => set('weightDecay', num(v))}
                          />
                        </Group>
                      </Stack>
                    </Accordion.Panel>
                  </Accordion.Item>
                  <Accordion.Item value="loss">
                    <Accordion.Control>
                      <SectionTitle title="Loss weights" summary={WEIGHTED_LOSS_TERMS.map((t) => `${t.weight} ${config.lambdas[t.weight]}`).join(' · ')} />
                    </Accordion.Control>
                    <Accordion.Panel>
                      <Stack gap="sm">
                        <Text size="xs" c="dimmed">
                          {LOSS_FORMULA}
                        </Text>
                        <Group grow>
                          {WEIGHTED_LOSS_TERMS.map((t) => (
                            <NumberInput
                              key={t.weight}
                              label={`λ_${t.weight}`}
                              description={t.label}
                              step={0.01}
                              decimalScale={4}
                              value={config.lambdas[t.weight]}
                              onChange={(v) => setLambda(t.weight, num(v))}
                            />
                          ))}
                        </Group>
                        <Group grow>
                          <Select
                            label="λ_wc scale"
                            data={[
                              { value: 'one', label: '× 1 (released)' },
                              { value: 'inverse-shots', label: '× 1/K' },
                            ]}
                            value={config.wcScale}
                            onChange={(v) => v && set('wcScale', v as TrainConfig['wcScale'])}
                            allowDeselect={false}
                          />
                          <NumberInput label="T" step={0.5} decimalScale={2} value={config.lambdas.T} onChange={(v) => setLambda('T', num(v))} />
                        </Group>
                      </Stack>
                    </Accordion.Panel>
                  </Accordion.Item>
                  <Accordion.Item value="features">
                    <Accordion.Control>
                      <SectionTitle title="Image features" summary={config.onlineAugment ? 'online' : `${config.views} views`} />
                    </Accordion.Control>
                    <Accordion.Panel>
                      <Stack gap="sm">
                        <NumberInput
                          label="Cached views per image"
                          description="Augmented crops encoded once, then sampled each epoch"
                          min={1}
                          value={config.views}
                          onChange={(v) => set('views', num(v))}
                        />
                        <Switch
                          label="Online augmentation"
                          description="Run the image encoder on a fresh crop every step (for GPUs)"
                          checked={config.onlineAugment}
                          onChange={(e) => set('onlineAugment', e.currentTarget.checked)}
                        />
                      </Stack>
                    </Accordion.Panel>
                  </Accordion.Item>
                </Accordion>
                <Group mt="sm" gap="sm" grow>
                  <Button
                    variant="default"
                    onClick={() => void zeroshot.start(() => api.startZeroShot({ template: config.template }))}
                    disabled={zeroshot.running}
                    data-testid="start-zeroshot"
                  >
                    Run zero-shot
                  </Button>
                  <Button onClick={() => void train.start(() => api.startTraining(config))} disabled={train.running} data-testid="start-training">
                    Start training
                  </Button>
                </Group>
                <JobPanel job={zeroshot.job} onCancel={zeroshot.cancel} startError={zeroshot.startError} showLogs={false} />
                <JobPanel job={train.job} onCancel={train.cancel} startError={train.startError} />
              </Stack>
            )}
            <ErrorNote error={defaults.error} />
          </Card>
        </Grid.Col>
        <Grid.Col span={{ base: 12, lg: 8 }}>
          <Stack gap="lg">
            <Card withBorder padding="lg" data-testid="run-view">
              <Group justify="space-between" mb="xs">
                <Title order={4}>
                  {shownRun ? `Run #${shownRun.id} · ${shownRun.kind === 'zeroshot' ? 'zero-shot CLIP' : shownRun.kind}` : 'Live training'}
                </Title>
                {shownRun && (
                  <Group gap="sm">
                    {shownRun.accuracy !== null && (
                      <Text size="sm" c="dimmed">
                        test accuracy <b>{pct(shownRun.accuracy)}</b>
                      </Text>
                    )}
                    <StatusBadge run={shownRun} />
                  </Group>
                )}
              </Group>
              {shownRun?.kind === 'zeroshot' ? (
                <PerClassAccuracy detail={runDetail.data ?? null} names={names} />
              ) : (
                <Grid>
                  <Grid.Col span={12}>
                    <Text size="sm" fw={600} mb={4}>
                      Loss terms
                    </Text>
                    <LineChart series={lossSeries} xLabel="epoch" height={220} testId="chart-loss" />
                  </Grid.Col>
                  <Grid.Col span={{ base: 12, md: 6 }}>
                    <Text size="sm" fw={600} mb={4}>
                      Accuracy
                    </Text>
                    <LineChart series={accSeries} xLabel="epoch" yDomain={[0, 1]} height={180} testId="chart-accuracy" />
                  </Grid.Col>
                  <Grid.Col span={{ base: 12, md: 6 }}>
                    <Text size="sm" fw={600} mb={4}>
                      Learning rate
                    </Text>
                    <LineChart series={lrSeries} xLabel="epoch" height={180} />
                  </Grid.Col>
                </Grid>
              )}
            </Card>
            <Card withBorder padding="lg">
              <Title order={4} mb="sm">
                Run history
              </Title>
              <ErrorNote error={runs.error} />
              <MergeRuns
                picked={mergePick}
                onMerged={(id) => {
                  setMergePick(new Set());
                  setSelectedRun(id);
                  runs.reload();
                }}
              />
              <RunHistory runs={runs.data ?? []} selected={selectedRun} onSelect={setSelectedRun} picked={mergePick} onPick={togglePick} />
              {runs.data?.length === 0 && (
                <Text size="sm" c="dimmed">
                  No runs yet: run zero-shot for the baseline, then train.
                </Text>
              )}
            </Card>
          </Stack>
        </Grid.Col>
      </Grid>
    </>
  );
}

function SectionTitle({ title, summary }: { title: string; summary: string }) {
  return (
    <Group justify="space-between" wrap="nowrap" gap="xs" pr={4}>
      <Text size="sm" fw={600} style={{ whiteSpace: 'nowrap' }}>
        {title}
      </Text>
      <Text size="xs" c="dimmed" truncate>
        {summary}
      </Text>
    </Group>
  );
}

/** A zero-shot run has no epochs: its result is the accuracy of each class. */
function PerClassAccuracy({ detail, names }: { detail: RunDetail | null; names: Map<string, string> }) {
  if (!detail) return null;
  const rows = Object.entries(detail.perClass).sort(([a], [b]) => a.localeCompare(b));
  return (
    <Stack gap={6} data-testid="zeroshot-per-class">
      <Text size="sm" c="dimmed" mb={4}>
        Accuracy of each class on the test split, prompted with the class names as they are. Low bars mark names CLIP does not understand: the labels LAMM
        learns to read.
      </Text>
      {rows.map(([folder, acc]) => (
        <Group key={folder} gap="sm" wrap="nowrap" data-testid={`zeroshot-class-${folder}`} data-accuracy={acc}>
          <Text size="sm" fw={600} w={180} truncate>
            {names.get(folder) ?? folder}
          </Text>
          <div style={{ flex: 1, height: 12, background: 'var(--mantine-color-gray-1)', borderRadius: 4 }}>
            <div
              style={{
                width: `${100 * acc}%`,
                height: '100%',
                borderRadius: 4,
                background: acc >= 0.5 ? 'var(--mantine-color-teal-6)' : 'var(--mantine-color-red-6)',
              }}
            />
          </div>
          <Text size="sm" w={56} ta="right" fw={600}>
            {pct(acc)}
          </Text>
        </Group>
      ))}
    </Stack>
  );
}

/** Runs that can merge: finished pure-LAMM runs (lamm/merge.ts checks the rest and says why not). */
const mergeable = (r: RunSummary) => r.kind === 'lamm' && r.status === 'done';
const mergedFrom = (r: RunSummary) => (r.config as { mergedFrom?: number[] }).mergedFrom;

/** Class-incremental merge of the runs ticked in the history. */
function MergeRuns({ picked, onMerged }: { picked: Set<number>; onMerged(runId: number): void }) {
  const { api } = useApp();
  const { run, busy, error } = useAction();
  const merge = () => run(async () => onMerged((await api.mergeRuns({ runIds: [...picked].sort((a, b) => a - b) })).id));
  return (
    <Stack gap={6} mb="sm" data-testid="merge-panel">
      <Group justify="space-between" wrap="nowrap" align="flex-start">
        <Text size="sm" c="dimmed" data-testid="merge-why">
          Tick LAMM runs trained on different classes to merge them into one classifier: LAMM trains only each class&apos;s own label tokens, so the old
          classes&apos; embeddings are copied unchanged, whereas CoOp trains one context shared by all its classes, which a new run would overwrite.
        </Text>
        <Button
          size="xs"
          variant="light"
          disabled={picked.size < 2}
          loading={busy}
          onClick={() => void merge()}
          data-testid="merge-runs"
          style={{ flexShrink: 0 }}
        >
          Merge {picked.size >= 2 ? `${picked.size} runs` : 'runs'}
        </Button>
      </Group>
      <ErrorNote error={error} title="Cannot merge" />
    </Stack>
  );
}

function RunHistory({
  runs,
  selected,
  onSelect,
  picked,
  onPick,
}: {
  runs: RunSummary[];
  selected: number | null;
  onSelect(id: number): void;
  picked: Set<number>;
  onPick(id: number): void;
}) {
  const nowrap = { whiteSpace: 'nowrap' } as const;
  return (
    <Table highlightOnHover verticalSpacing={6} data-testid="run-history">
      <Table.Thead>
        <Table.Tr>
          <Table.Th w={32} />
          <Table.Th w={40}>#</Table.Th>
          <Table.Th style={nowrap}>Method</Table.Th>
          <Table.Th style={nowrap}>Status</Table.Th>
          <Table.Th ta="right" style={nowrap}>
            Test accuracy
          </Table.Th>
          <Table.Th style={nowrap}>K · epochs</Table.Th>
          <Table.Th style={nowrap}>Started</Table.Th>
          <Table.Th>Backend</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {runs.map((r) => (
          <Table.Tr
            key={r.id}
            onClick={() => onSelect(r.id)}
            style={{ cursor: 'pointer' }}
            bg={r.id === selected ? 'var(--mantine-color-indigo-0)' : undefined}
          >
            <Table.Td onClick={(e) => e.stopPropagation()}>
              {mergeable(r) && (
                <Checkbox
                  size="xs"
                  checked={picked.has(r.id)}
                  onChange={() => onPick(r.id)}
                  aria-label={`merge run ${r.id}`}
                  data-testid={`merge-pick-${r.id}`}
                />
              )}
            </Table.Td>
            <Table.Td>{r.id}</Table.Td>
            <Table.Td style={nowrap}>
              <Badge variant="light" color={r.kind === 'zeroshot' ? 'gray' : 'indigo'} tt="none" style={{ minWidth: 'max-content' }}>
                {r.kind === 'zeroshot' ? 'zero-shot' : r.kind}
              </Badge>
            </Table.Td>
            <Table.Td style={nowrap}>
              <StatusBadge run={r} />
            </Table.Td>
            <Table.Td ta="right" fw={600}>
              {r.accuracy === null ? '—' : pct(r.accuracy)}
            </Table.Td>
            <Table.Td fz="sm" style={nowrap}>
              {r.kind === 'zeroshot' ? '—' : mergedFrom(r) ? `merge of ${mergedFrom(r)!.join(' + ')}` : `${r.config.shots ?? '?'} · ${r.config.epochs ?? '?'}`}
            </Table.Td>
            <Table.Td fz="sm" style={nowrap}>
              {formatWhen(r.createdAt)}
            </Table.Td>
            <Table.Td fz="xs" c="dimmed">
              {r.backend ?? '—'}
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

function StatusBadge({ run }: { run: RunSummary }) {
  const color = { running: 'blue', done: 'teal', failed: 'red', cancelled: 'gray', interrupted: 'orange' }[run.status];
  return (
    <Badge
      color={color}
      variant={run.status === 'running' ? 'dot' : 'light'}
      tt="none"
      style={{ minWidth: 'max-content' }}
      title={run.status === 'interrupted' ? 'the process running it ended before the run finished' : undefined}
    >
      {run.status}
    </Badge>
  );
}
