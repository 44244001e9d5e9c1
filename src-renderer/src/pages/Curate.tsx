// Curation: a virtualised thumbnail grid (only the visible rows are in the DOM, so 10k+ images
// scroll smoothly), filters, selection, exclude / relabel, duplicates, likely mislabels, and
// text search (CLIP text → images, ranked).
import { Badge, Button, Card, Checkbox, Group, Menu, SegmentedControl, Select, Stack, Text, TextInput, Tooltip } from '@mantine/core';
import { useElementSize, useMergedRef } from '@mantine/hooks';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { ClassRow, ImageRow, SearchHit } from '../../../src-main/api/contract';
import { PageHeader } from '../components/PageHeader';
import { JobPanel } from '../components/JobPanel';
import { ErrorNote } from '../components/ErrorNote';
import { LabelIssues } from '../components/LabelIssues';
import { useApp, useJob, useQuery } from '../state';

const CELL = 132;
const GAP = 8;
/** Where the grid starts until it is measured, and the room it leaves below (status bar + page padding). */
const GRID_TOP_GUESS = 330;
const BELOW_GRID = 34 + 32;

type SplitFilter = 'all' | 'train' | 'test' | 'shots';

export function CuratePage() {
  const { api } = useApp();
  const images = useQuery((a) => a.listImages(), [], ['images', 'classes']);
  const classes = useQuery((a) => a.listClasses(), [], ['classes']);
  const dupJob = useJob('duplicates');
  const misJob = useJob('mislabels');
  const [classFilter, setClassFilter] = useState<string | null>(null);
  const [splitFilter, setSplitFilter] = useState<SplitFilter>('all');
  const [showExcluded, setShowExcluded] = useState(true);
  const [onlyFlagged, setOnlyFlagged] = useState<'none' | 'duplicate' | 'mislabel'>('none');
  const [query, setQuery] = useState('');
  const [hits, setHits] = useState<SearchHit[] | null>(null);
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [error, setError] = useState<string | null>(null);
  const [searching, setSearching] = useState(false);

  const classById = useMemo(() => new Map((classes.data ?? []).map((c) => [c.id, c])), [classes.data]);

  const imageById = useMemo(() => new Map((images.data ?? []).map((i) => [i.id, i])), [images.data]);
  // A label issue stays open until its image is relabelled or excluded.
  const openIssues = useMemo(() => (misJob.result ?? []).filter((c) => {
    const img = imageById.get(c.imageId);
    return img && !img.excluded && img.classId === c.labelledClassId;
  }), [misJob.result, imageById]);

  // Duplicate / mislabel findings become flags on the images they name.
  const flags = useMemo(() => {
    const m = new Map<number, Set<string>>();
    const add = (id: number, f: string) => (m.get(id) ?? m.set(id, new Set()).get(id)!).add(f);
    for (const g of dupJob.result ?? []) for (const id of g.imageIds) add(id, 'duplicate');
    for (const c of openIssues) add(c.imageId, 'mislabel');
    return m;
  }, [dupJob.result, openIssues]);
  const suggestion = useMemo(() => new Map(openIssues.map((c) => [c.imageId, c])), [openIssues]);

  const visible = useMemo(() => {
    let list = images.data ?? [];
    const hasFlag = (img: ImageRow, f: 'duplicate' | 'mislabel') => flags.get(img.id)?.has(f) === true;
    list = list.filter(
      (img) =>
        (classFilter === null || img.classId === Number(classFilter)) &&
        (splitFilter === 'all' || (splitFilter === 'shots' ? img.shot : img.split === splitFilter)) &&
        (showExcluded || !img.excluded) &&
        (onlyFlagged === 'none' || hasFlag(img, onlyFlagged)),
    );
    if (hits) {
      const byId = new Map(list.map((i) => [i.id, i]));
      list = hits.map((h) => byId.get(h.imageId)).filter((i): i is ImageRow => !!i);
    }
    return list;
  }, [images.data, classFilter, splitFilter, showExcluded, onlyFlagged, hits, flags]);

  const search = async () => {
    if (!query.trim()) return setHits(null);
    setSearching(true);
    setError(null);
    try {
      setHits(await api.searchImages({ query: query.trim(), limit: 200 }));
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setSearching(false);
    }
  };

  const update = async (patch: { excluded?: boolean; classId?: number }) => {
    setError(null);
    try {
      await api.updateImages({ ids: [...selected], ...patch });
      setSelected(new Set());
      images.reload();
      classes.reload();
    } catch (e) {
      setError((e as Error).message);
    }
  };

  const editOne = async (imageId: number, patch: { excluded?: boolean; classId?: number }) => {
    setError(null);
    try {
      await api.updateImages({ ids: [imageId], ...patch });
      images.reload();
      classes.reload();
    } catch (e) {
      setError((e as Error).message);
      throw e;
    }
  };

  const toggle = (id: number, additive: boolean) =>
    setSelected((prev) => {
      const next = new Set(additive ? prev : []);
      if (prev.has(id) && additive) next.delete(id);
      else next.add(id);
      return next;
    });

  const classOptions = (classes.data ?? []).map((c) => ({ value: String(c.id), label: `${c.promptName} (${c.counts.total})` }));

  return (
    <>
      <PageHeader
        title="Curate"
        description="Look through the images, exclude bad ones, relabel mistakes. Duplicates and likely mislabels come from CLIP image embeddings."
        actions={
          <>
            <Button variant="default" onClick={() => void dupJob.start(() => api.findDuplicates({}))} loading={dupJob.running} data-testid="find-duplicates">
              Find duplicates
            </Button>
            <Button variant="default" onClick={() => void misJob.start(() => api.findMislabels())} loading={misJob.running} data-testid="find-mislabels">
              Find likely mislabels
            </Button>
          </>
        }
      />
      <Stack gap="sm" mb="sm">
        <JobPanel job={dupJob.job?.status === 'done' ? null : dupJob.job} onCancel={dupJob.cancel} startError={dupJob.startError} showLogs={false} />
        <JobPanel job={misJob.job?.status === 'done' ? null : misJob.job} onCancel={misJob.cancel} startError={misJob.startError} showLogs={false} />
        {dupJob.result && <Text size="sm">{dupJob.result.length} groups of near-duplicates found.</Text>}
        {misJob.result && (
          <LabelIssues
            issues={openIssues}
            total={misJob.result.length}
            images={imageById}
            classById={classById}
            onEdit={editOne}
            onSelect={(id) => setSelected(new Set([id]))}
          />
        )}
      </Stack>
      <Card withBorder padding="sm" mb="sm">
        <Group gap="md" wrap="wrap">
          <Select placeholder="All classes" clearable data={classOptions} value={classFilter} onChange={setClassFilter} w={220} data-testid="filter-class" />
          <SegmentedControl
            value={splitFilter}
            onChange={(v) => setSplitFilter(v as SplitFilter)}
            data={[
              { value: 'all', label: 'All' },
              { value: 'train', label: 'Train' },
              { value: 'test', label: 'Test' },
              { value: 'shots', label: 'Shots' },
            ]}
            data-testid="filter-split"
          />
          <SegmentedControl
            value={onlyFlagged}
            onChange={(v) => setOnlyFlagged(v as typeof onlyFlagged)}
            data={[
              { value: 'none', label: 'Any' },
              { value: 'duplicate', label: 'Duplicates' },
              { value: 'mislabel', label: 'Mislabels' },
            ]}
          />
          <Checkbox label="Show excluded" checked={showExcluded} onChange={(e) => setShowExcluded(e.currentTarget.checked)} />
          <Group gap={6} style={{ flex: 1, minWidth: 260 }} wrap="nowrap">
            <TextInput
              style={{ flex: 1 }}
              placeholder="Search by text, e.g. “a blurry photo”"
              value={query}
              onChange={(e) => setQuery(e.currentTarget.value)}
              onKeyDown={(e) => e.key === 'Enter' && void search()}
              data-testid="text-search"
            />
            <Button variant="light" onClick={search} loading={searching}>
              Search
            </Button>
            {hits && (
              <Button variant="subtle" onClick={() => (setHits(null), setQuery(''))}>
                Clear
              </Button>
            )}
          </Group>
        </Group>
      </Card>
      <ErrorNote error={images.error ?? error} />
      <Group justify="space-between" mb={6}>
        <Text size="sm" c="dimmed" data-testid="grid-count">
          {visible.length.toLocaleString()} of {(images.data?.length ?? 0).toLocaleString()} images{hits ? ' · ranked by text match' : ''}
        </Text>
        <Group gap="xs" style={{ visibility: selected.size ? 'visible' : 'hidden' }}>
          <Text size="sm" fw={600}>
            {selected.size} selected
          </Text>
          <Button size="xs" variant="light" color="red" onClick={() => update({ excluded: true })}>
            Exclude
          </Button>
          <Button size="xs" variant="light" onClick={() => update({ excluded: false })}>
            Include
          </Button>
          <Menu shadow="md" position="bottom-end">
            <Menu.Target>
              <Button size="xs" variant="light">
                Relabel as…
              </Button>
            </Menu.Target>
            <Menu.Dropdown mah={320} style={{ overflow: 'auto' }}>
              {(classes.data ?? []).map((c) => (
                <Menu.Item key={c.id} onClick={() => update({ classId: c.id })}>
                  {c.promptName}
                </Menu.Item>
              ))}
            </Menu.Dropdown>
          </Menu>
          <Button size="xs" variant="subtle" onClick={() => setSelected(new Set())}>
            Clear
          </Button>
        </Group>
      </Group>
      <ThumbGrid images={visible} classById={classById} selected={selected} onToggle={toggle} flags={flags} suggestion={suggestion} />
    </>
  );
}

function ThumbGrid(props: {
  images: ImageRow[];
  classById: Map<number, ClassRow>;
  selected: Set<number>;
  onToggle(id: number, additive: boolean): void;
  flags: Map<number, Set<string>>;
  suggestion: Map<number, { suggestedClassId: number; confidence: number }>;
}) {
  const { thumbUrl } = useApp();
  // Measured inside the scroll box, so its scrollbar is not counted as room for cells.
  const { ref: sizeRef, width } = useElementSize();
  const scrollRef = useRef<HTMLDivElement>(null);
  const gridRef = useMergedRef(sizeRef, scrollRef);
  const columns = Math.max(1, Math.floor((width + GAP) / (CELL + GAP)));
  // Cells grow a little so the columns fill the row.
  const cell = width > 0 ? Math.floor((width + GAP) / columns - GAP) : CELL;
  const rows = Math.ceil(props.images.length / columns);
  const virtualizer = useVirtualizer({ count: rows, getScrollElement: () => scrollRef.current, estimateSize: () => cell + GAP, overscan: 4 });

  useEffect(() => virtualizer.measure(), [cell, virtualizer]);

  // The grid scrolls inside itself and takes the window's height below its top edge.
  const [top, setTop] = useState(GRID_TOP_GUESS);
  useLayoutEffect(() => {
    const measure = () => setTop((scrollRef.current?.getBoundingClientRect().top ?? GRID_TOP_GUESS) + window.scrollY);
    measure();
    window.addEventListener('resize', measure);
    return () => window.removeEventListener('resize', measure);
  }, [props.images]);

  useEffect(() => virtualizer.scrollToIndex(0), [props.images, virtualizer]);

  return (
    <div>
      <div ref={gridRef} style={{ height: `calc(100vh - ${Math.round(top) + BELOW_GRID}px)`, minHeight: 320, overflow: 'auto' }} data-testid="thumb-grid">
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {virtualizer.getVirtualItems().map((row) => (
            <div key={row.key} style={{ position: 'absolute', top: row.start, left: 0, display: 'flex', gap: GAP }}>
              {props.images.slice(row.index * columns, row.index * columns + columns).map((img) => {
                const cls = props.classById.get(img.classId);
                const f = props.flags.get(img.id);
                const s = props.suggestion.get(img.id);
                return (
                  <Tooltip key={img.id} openDelay={500} label={`${img.relPath} · ${cls?.promptName ?? '?'} · ${img.split}`}>
                    <div
                      className="thumb-cell"
                      style={{ width: cell, height: cell }}
                      data-excluded={img.excluded}
                      data-selected={props.selected.has(img.id)}
                      data-testid="thumb"
                      onClick={(e) => props.onToggle(img.id, e.shiftKey || e.metaKey || e.ctrlKey)}
                    >
                      <img src={thumbUrl(img.id)} loading="lazy" decoding="async" alt={img.relPath} draggable={false} />
                      <div className="thumb-badges">
                        <Badge size="xs" variant="white" color="dark" style={{ opacity: 0.9 }}>
                          {cls?.promptName ?? '?'}
                        </Badge>
                        {img.shot && <Badge size="xs" color="teal">shot</Badge>}
                        {img.excluded && <Badge size="xs" color="gray">excluded</Badge>}
                        {f?.has('duplicate') && <Badge size="xs" color="orange">dup</Badge>}
                        {s && (
                          <Badge size="xs" color="red">
                            → {props.classById.get(s.suggestedClassId)?.promptName ?? '?'}
                          </Badge>
                        )}
                      </div>
                    </div>
                  </Tooltip>
                );
              })}
            </div>
          ))}
        </div>
      </div>
    </div>
  );
}
