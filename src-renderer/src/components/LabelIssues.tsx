// The Curate page's "Likely mislabels": the label issues the engine found out of sample
// (k-fold probes + confident learning), most suspicious first, each with one click to take the
// suggested label or to exclude the image. A handled row leaves the list (the page passes only open issues).
import { Badge, Button, Card, Group, ScrollArea, Text, UnstyledButton } from '@mantine/core';
import { useState } from 'react';
import type { ClassRow, ImageRow, MislabelCandidate } from '../../../src-main/api/contract';
import { useApp } from '../state';

export function LabelIssues(props: {
  /** Issues whose image still has the judged label and is not excluded. */
  issues: MislabelCandidate[];
  /** All issues the last search found. */
  total: number;
  images: Map<number, ImageRow>;
  classById: Map<number, ClassRow>;
  /** Applies an edit to one image; resolves when the engine has it. */
  onEdit(imageId: number, patch: { excluded?: boolean; classId?: number }): Promise<void>;
  onSelect(imageId: number): void;
}) {
  const { thumbUrl } = useApp();
  const [busy, setBusy] = useState<number | null>(null);
  const name = (id: number) => props.classById.get(id)?.promptName ?? '?';
  const act = async (imageId: number, patch: { excluded?: boolean; classId?: number }) => {
    setBusy(imageId);
    try {
      await props.onEdit(imageId, patch);
    } finally {
      setBusy(null);
    }
  };

  return (
    <Card withBorder padding="sm" data-testid="label-issues">
      <Group justify="space-between" mb={6}>
        <Text fw={600} size="sm">
          Likely mislabels · {props.issues.length} of {props.total} open
        </Text>
        <Text size="xs" c="dimmed">
          Judged out of sample: 5-fold probes on the image features, each image scored by a probe that never saw its label.
        </Text>
      </Group>
      {props.total === 0 ? (
        <Text size="sm" c="dimmed" data-testid="label-issues-none">
          No label looks wrong.
        </Text>
      ) : (
        <ScrollArea.Autosize mah={260}>
          {props.issues.map((issue) => {
            const img = props.images.get(issue.imageId);
            return (
              <Group key={issue.imageId} gap="sm" wrap="nowrap" py={4} data-testid="label-issue" data-image-id={issue.imageId}>
                <UnstyledButton onClick={() => props.onSelect(issue.imageId)} style={{ flex: 'none', lineHeight: 0 }}>
                  <img
                    src={thumbUrl(issue.imageId)}
                    alt={img?.relPath ?? String(issue.imageId)}
                    width={44}
                    height={44}
                    style={{ objectFit: 'cover', borderRadius: 4, cursor: 'pointer' }}
                  />
                </UnstyledButton>
                <div style={{ flex: 1, minWidth: 0 }}>
                  <Text size="sm" truncate>
                    <Badge size="sm" variant="light" color="gray">
                      {name(issue.labelledClassId)}
                    </Badge>{' '}
                    →{' '}
                    <Badge size="sm" variant="light" color="red">
                      {name(issue.suggestedClassId)}
                    </Badge>
                  </Text>
                  <Text size="xs" c="dimmed" truncate>
                    {img?.relPath ?? `image ${issue.imageId}`} · score {issue.score.toFixed(2)} · p({name(issue.suggestedClassId)}){' '}
                    {issue.confidence.toFixed(2)}
                  </Text>
                </div>
                <Button
                  size="xs"
                  variant="light"
                  loading={busy === issue.imageId}
                  onClick={() => void act(issue.imageId, { classId: issue.suggestedClassId })}
                  data-testid="issue-relabel"
                >
                  Relabel as {name(issue.suggestedClassId)}
                </Button>
                <Button
                  size="xs"
                  variant="subtle"
                  color="red"
                  disabled={busy === issue.imageId}
                  onClick={() => void act(issue.imageId, { excluded: true })}
                  data-testid="issue-exclude"
                >
                  Exclude
                </Button>
              </Group>
            );
          })}
        </ScrollArea.Autosize>
      )}
    </Card>
  );
}
