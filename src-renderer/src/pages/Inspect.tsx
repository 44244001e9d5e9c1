import {
  Badge,
  Card,
  Group,
  Input,
  Loader,
  NumberInput,
  Pagination,
  Progress,
  SegmentedControl,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
  Tooltip,
} from '@mantine/core';
import { useEffect, useMemo, useState } from 'react';
import { DEFAULT_NEIGHBOURS, type LabelTokenReport } from '../../../src-main/api/contract';
import { PageHeader } from '../components/PageHeader';
import { ErrorNote } from '../components/ErrorNote';
import { RunPicker } from './RunPicker';
import { useQuery } from '../state';

/** Classes drawn at once; the rest are a page away. */
const CLASSES_PER_PAGE = 24;

export function InspectPage() {
  const runs = useQuery((a) => a.listRuns(), [], ['runs']);
  const [runId, setRunId] = useState<number | null>(null);
  const [k, setK] = useState<number | string>(DEFAULT_NEIGHBOURS);
  const [vocabulary, setVocabulary] = useState<'words' | 'all'>('words');
  const report = useQuery(
    (a) => (runId ? a.getNeighbours({ runId, k: Number(k) || DEFAULT_NEIGHBOURS, wordsOnly: vocabulary === 'words' }) : Promise.resolve(null)),
    [runId, k, vocabulary],
  );
  const maxDrift = Math.max(1e-9, ...(report.data ?? []).flatMap((c) => c.tokens.map((t) => t.drift)));
  // A vocabulary without word tokens (a byte-level toy model) leaves nothing to show: use them all.
  const [noWords, setNoWords] = useState(false);
  useEffect(() => {
    if (vocabulary === 'words' && report.data?.length && report.data.every((c) => c.tokens.every((t) => t.neighbours.length === 0))) {
      setNoWords(true);
      setVocabulary('all');
    }
  }, [report.data, vocabulary]);

  return (
    <>
      <PageHeader
        title="Inspect"
        description="What the learned label tokens “mean”: each trained token's nearest vocabulary tokens by cosine, where its original token now ranks, and how far it moved (‖E − E0‖)."
        actions={
          <>
            <RunPicker label="Trained run" runs={runs.data} value={runId} onChange={setRunId} filter={(r) => r.kind !== 'zeroshot'} testId="inspect-run" />
            <NumberInput label="Neighbours (k)" min={1} max={50} w={120} value={k} onChange={setK} />
            <Input.Wrapper label="Neighbours among">
              <Tooltip label="Words: tokens that end a word, leaving out single characters and the byte tokens of the vocabulary">
                <SegmentedControl
                  display="flex"
                  value={vocabulary}
                  onChange={(v) => setVocabulary(v as 'words' | 'all')}
                  data={[
                    { value: 'words', label: 'Words' },
                    { value: 'all', label: 'All tokens' },
                  ]}
                  data-testid="inspect-vocabulary"
                />
              </Tooltip>
            </Input.Wrapper>
          </>
        }
      />
      <ErrorNote error={runs.error ?? report.error} />
      {noWords && (
        <Text size="sm" c="dimmed" mb="sm" data-testid="inspect-no-words">
          This model's vocabulary has no word tokens, so the neighbours come from all its tokens.
        </Text>
      )}
      {report.loading && !report.data && runId !== null && (
        <Group gap="xs" data-testid="inspect-loading">
          <Loader size="xs" />
          <Text size="sm" c="dimmed">
            finding the nearest vocabulary tokens of every learned label token…
          </Text>
        </Group>
      )}
      {report.data && <ClassList reports={report.data} maxDrift={maxDrift} />}
    </>
  );
}

/** One page of classes at a time, filtered by name and sorted: 1,000 classes stay one quick page. */
function ClassList({ reports, maxDrift }: { reports: LabelTokenReport[]; maxDrift: number }) {
  const [filter, setFilter] = useState('');
  const [order, setOrder] = useState<'name' | 'drift'>('name');
  const [pageNumber, setPageNumber] = useState(1);
  const shown = useMemo(() => {
    const wanted = filter.trim().toLowerCase();
    const drift = (r: LabelTokenReport) => r.tokens.reduce((s, t) => s + t.drift, 0);
    const kept = reports.filter((r) => !wanted || r.promptName.toLowerCase().includes(wanted) || r.folder.toLowerCase().includes(wanted));
    return order === 'drift' ? kept.sort((a, b) => drift(b) - drift(a)) : kept;
  }, [reports, filter, order]);
  const pages = Math.max(1, Math.ceil(shown.length / CLASSES_PER_PAGE));
  const current = Math.min(pageNumber, pages);
  return (
    <Stack gap="md" data-testid="neighbours">
      {reports.length > CLASSES_PER_PAGE && (
        <Group justify="space-between">
          <Group gap="sm">
            <TextInput
              size="xs"
              placeholder="Filter classes"
              value={filter}
              onChange={(e) => {
                setFilter(e.currentTarget.value);
                setPageNumber(1);
              }}
              data-testid="inspect-filter"
            />
            <SegmentedControl
              size="xs"
              value={order}
              onChange={(v) => setOrder(v as 'name' | 'drift')}
              data={[
                { value: 'name', label: 'By class' },
                { value: 'drift', label: 'Most moved first' },
              ]}
            />
          </Group>
          <Text size="xs" c="dimmed">
            {shown.length} of {reports.length} classes
          </Text>
        </Group>
      )}
      {shown.slice((current - 1) * CLASSES_PER_PAGE, current * CLASSES_PER_PAGE).map((c) => (
        <ClassTokens key={c.classId} report={c} maxDrift={maxDrift} />
      ))}
      {pages > 1 && <Pagination value={current} onChange={setPageNumber} total={pages} data-testid="inspect-pages" />}
    </Stack>
  );
}

function ClassTokens({ report: c, maxDrift }: { report: LabelTokenReport; maxDrift: number }) {
  return (
    <Card withBorder padding="md" data-testid={`neighbours-${c.folder}`}>
      <Group justify="space-between" mb="xs">
        <Group gap="xs">
          <Title order={5}>{c.promptName}</Title>
          <Text size="xs" c="dimmed" className="mono">
            {c.folder}
          </Text>
        </Group>
        <Text size="xs" c="dimmed">
          total drift {c.tokens.reduce((s, t) => s + t.drift, 0).toFixed(3)}
        </Text>
      </Group>
      <Table verticalSpacing={4} withRowBorders={false} layout="fixed">
        <Table.Thead>
          <Table.Tr>
            <Table.Th w={64}>Token</Table.Th>
            <Table.Th w={130}>Started as</Table.Th>
            <Table.Th w={100} ta="right" style={{ whiteSpace: 'nowrap' }}>
              <Tooltip label="Rank of the original token among all vocabulary tokens, by cosine to the learned vector (1 = still the nearest)">
                <span>Rank now</span>
              </Tooltip>
            </Table.Th>
            <Table.Th w={190} pl="lg">
              Drift ‖E − E0‖
            </Table.Th>
            <Table.Th>Nearest tokens</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {c.tokens.map((t) => (
            <Table.Tr key={t.position}>
              <Table.Td fz="sm" c="dimmed">
                #{t.position + 1}
              </Table.Td>
              <Table.Td className="mono" fz="sm" fw={600}>
                {t.original}
              </Table.Td>
              <Table.Td ta="right" fz="sm" fw={600} c={t.originalRank === 1 ? 'teal' : 'orange'}>
                {t.originalRank}
              </Table.Td>
              <Table.Td pl="lg">
                <Group gap={8} wrap="nowrap">
                  <Progress value={(100 * t.drift) / maxDrift} size="sm" color="orange" style={{ flex: 1 }} />
                  <Text size="xs" c="dimmed" w={40} ta="right">
                    {t.drift.toFixed(2)}
                  </Text>
                </Group>
              </Table.Td>
              <Table.Td>
                <Group gap={4}>
                  {t.neighbours.map((n) => (
                    <Badge
                      key={`${n.token}@${n.cosine}`}
                      title={`cosine ${n.cosine.toFixed(3)}`}
                      variant={n.token === t.original ? 'filled' : 'light'}
                      color={n.token === t.original ? 'teal' : 'indigo'}
                      tt="none"
                      className="mono"
                    >
                      {n.token || '·'}
                    </Badge>
                  ))}
                </Group>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Card>
  );
}
