import { Badge, Card, Group, NumberInput, Progress, Stack, Table, Text, Title, Tooltip } from '@mantine/core';
import { useState } from 'react';
import { PageHeader } from '../components/PageHeader';
import { ErrorNote } from '../components/ErrorNote';
import { RunPicker } from './RunPicker';
import { useQuery } from '../state';

export function InspectPage() {
  const runs = useQuery((a) => a.listRuns(), [], ['runs']);
  const [runId, setRunId] = useState<number | null>(null);
  const [k, setK] = useState<number | string>(8);
  const report = useQuery((a) => (runId ? a.getNeighbours({ runId, k: Number(k) || 8 }) : Promise.resolve(null)), [runId, k]);
  const maxDrift = Math.max(1e-9, ...(report.data ?? []).flatMap((c) => c.tokens.map((t) => t.drift)));

  return (
    <>
      <PageHeader
        title="Inspect"
        description="What the learned label tokens “mean”: each trained token's nearest vocabulary tokens by cosine, where its original token now ranks, and how far it moved (‖E − E0‖)."
        actions={
          <Group align="flex-end" wrap="nowrap">
            <RunPicker label="Trained run" runs={runs.data} value={runId} onChange={setRunId} filter={(r) => r.kind !== 'zeroshot'} testId="inspect-run" />
            <NumberInput label="Neighbours (k)" min={1} max={50} w={130} value={k} onChange={setK} />
          </Group>
        }
      />
      <ErrorNote error={runs.error ?? report.error} />
      {report.data && (
        <Stack gap="md" data-testid="neighbours">
          {report.data.map((c) => (
            <Card key={c.classId} withBorder padding="md">
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
              <Table verticalSpacing={4} withRowBorders={false}>
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th w={70}>Token</Table.Th>
                    <Table.Th w={120}>Started as</Table.Th>
                    <Table.Th w={90} ta="right">
                      Its rank now
                    </Table.Th>
                    <Table.Th w={170}>Drift</Table.Th>
                    <Table.Th>Nearest vocabulary tokens</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {c.tokens.map((t) => (
                    <Table.Tr key={t.position}>
                      <Table.Td fz="sm">#{t.position + 1}</Table.Td>
                      <Table.Td className="mono" fz="sm" fw={600}>
                        {t.original}
                      </Table.Td>
                      <Table.Td ta="right" fz="sm" c={t.originalRank === 1 ? 'teal' : 'orange'}>
                        {t.originalRank}
                      </Table.Td>
                      <Table.Td>
                        <Tooltip label={t.drift.toFixed(4)}>
                          <Progress value={(100 * t.drift) / maxDrift} size="sm" color="orange" />
                        </Tooltip>
                      </Table.Td>
                      <Table.Td>
                        <Group gap={4}>
                          {t.neighbours.map((n, i) => (
                            <Tooltip key={i} label={`cosine ${n.cosine.toFixed(3)}`}>
                              <Badge variant={n.token === t.original ? 'filled' : 'light'} color={n.token === t.original ? 'teal' : 'indigo'} tt="none" className="mono">
                                {n.token}
                              </Badge>
                            </Tooltip>
                          ))}
                        </Group>
                      </Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Card>
          ))}
        </Stack>
      )}
    </>
  );
}
