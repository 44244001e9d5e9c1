// Curation: a virtualised thumbnail grid, filters, selection, exclude / relabel, duplicates,
// likely mislabels, and text search (CLIP text → images, ranked). The grid holds 60 fps at the
// 95th percentile at 100k images (bench/grid.ts): only the visible rows are in the DOM, a row is plain
// elements (no Mantine component, no tooltip per cell: a native title) and re-renders only when
// its own cells' selection or cursor changes, each row is its own compositor layer (app.css),
// and rows that fly past in a fast scroll do not fetch their thumbnails.
import { Button, Card, Checkbox, Group, Menu, SegmentedControl, Select, Stack, Text, TextInput } from '@mantine/core';
import { useElementSize, useMergedRef } from '@mantine/hooks';
import { useVirtualizer } from '@tanstack/react-virtual';
import {
  memo,
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
  type Dispatch,
  type KeyboardEvent,
  type MouseEvent,
  type RefObject,
  type SetStateAction,
} from 'react';
import type { ClassRow, ImageRow, SearchHit } from '../../../src-main/api/contract';
import { PageHeader } from '../components/PageHeader';
import { JobPanel } from '../components/JobPanel';
import { ErrorNote } from '../components/ErrorNote';
import { LabelIssues } from '../components/LabelIssues';
import { useAction, useApp, useJob, useQuery } from '../state';

const CELL = 132;
const GAP = 8;
/** Where the grid starts until it is measured, and the room it leaves below (status bar + page padding). */
const GRID_TOP_GUESS = 330;
const BELOW_GRID = 34 + 32;
/** The element id of the cell under the keyboard cursor (aria-activedescendant). */
const CURSOR_ID = 'thumb-cursor';
/**
 * Faster than this (px/ms, about 33 px a frame at 60 Hz) rows mount without their thumbnails: a
 * row is then on screen for a few frames at most, and fetching and decoding its images is what
 * drops frames. A wheel turned at an easy pace or a trackpad glide stays below it; a fling or a dragged scroll bar
 * does not.
 */
const FAST_SCROLL_PX_PER_MS = 2;
/** How long the grid must scroll slower than that (or stand still) before those rows load their thumbnails. */
const SETTLE_MS = 120;

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
  const editing = useAction();
  const searching = useAction();
  const error = editing.error ?? searching.error;

  const classById = useMemo(() => new Map((classes.data ?? []).map((c) => [c.id, c])), [classes.data]);

  const imageById = useMemo(() => new Map((images.data ?? []).map((i) => [i.id, i])), [images.data]);
  // A label issue stays open until its image is relabelled or excluded.
  const openIssues = useMemo(
    () =>
      (misJob.result ?? []).filter((c) => {
        const img = imageById.get(c.imageId);
        return img && !img.excluded && img.classId === c.labelledClassId;
      }),
    [misJob.result, imageById],
  );

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

  // Identity of what the grid shows: a new one scrolls it back to the top.
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new object exactly when one of these changes
  const view = useMemo(() => ({}), [classFilter, splitFilter, showExcluded, onlyFlagged, hits]);

  const search = async () => {
    if (!query.trim()) return setHits(null);
    await searching.run(async () => setHits(await api.searchImages({ query: query.trim(), limit: 200 })));
  };

  const update = (patch: { excluded?: boolean; classId?: number }) =>
    editing.run(async () => {
      await api.updateImages({ ids: [...selected], ...patch });
      setSelected(new Set());
      images.reload();
      classes.reload();
    });

  // A failed edit leaves the label-issue row as it was; the page shows why.
  const editOne = async (imageId: number, patch: { excluded?: boolean; classId?: number }) => {
    await editing.run(async () => {
      await api.updateImages({ ids: [imageId], ...patch });
      images.reload();
      classes.reload();
    });
  };

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
            <Button variant="light" onClick={search} loading={searching.busy}>
              Search
            </Button>
            {hits && (
              <Button
                variant="subtle"
                onClick={() => {
                  setHits(null);
                  setQuery('');
                }}
              >
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
      <ThumbGrid images={visible} classById={classById} selected={selected} setSelected={setSelected} view={view} flags={flags} suggestion={suggestion} />
    </>
  );
}

type Suggestions = Map<number, { suggestedClassId: number; confidence: number }>;

/**
 * Mouse: click selects one image, Ctrl/Cmd-click toggles one, Shift-click adds the range from the
 * last clicked. Keyboard (the grid is one tab stop): arrows, Home/End and PageUp/PageDown move
 * the cursor, Shift with them selects the range from the anchor, Space or Enter toggles the
 * cursor's image, Ctrl/Cmd+A selects every image shown, Escape clears the selection.
 */
function ThumbGrid(props: {
  images: ImageRow[];
  classById: Map<number, ClassRow>;
  selected: Set<number>;
  setSelected: Dispatch<SetStateAction<Set<number>>>;
  /** Changes when the filters or the search do (not when the rows reload after an edit). */
  view: object;
  flags: Map<number, Set<string>>;
  suggestion: Suggestions;
}) {
  const { images, selected, setSelected } = props;
  const { thumbUrl } = useApp();
  // Measured inside the scroll box, so its scrollbar is not counted as room for cells.
  const { ref: sizeRef, width } = useElementSize();
  const scrollRef = useRef<HTMLDivElement>(null);
  const gridRef = useMergedRef(sizeRef, scrollRef);
  const columns = Math.max(1, Math.floor((width + GAP) / (CELL + GAP)));
  // Cells grow a little so the columns fill the row.
  const cell = width > 0 ? Math.floor((width + GAP) / columns - GAP) : CELL;
  const rows = Math.ceil(images.length / columns);
  const virtualizer = useVirtualizer({ count: rows, getScrollElement: () => scrollRef.current, estimateSize: () => cell + GAP, overscan: 2 });
  // The keyboard cursor and the start of a Shift range, as indices into `images`.
  const [cursor, setCursor] = useState(0);
  const anchor = useRef(0);

  const fast = useFastScroll(scrollRef);

  // biome-ignore lint/correctness/useExhaustiveDependencies: rows are re-measured when the cell size changes
  useEffect(() => virtualizer.measure(), [cell, virtualizer]);

  // The grid scrolls inside itself and takes the window's height below its top edge.
  const [top, setTop] = useState(GRID_TOP_GUESS);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the grid's top moves when the rows above it change
  useLayoutEffect(() => {
    const measure = () => setTop((scrollRef.current?.getBoundingClientRect().top ?? GRID_TOP_GUESS) + window.scrollY);
    measure();
    window.addEventListener('resize', measure);
    return () => window.removeEventListener('resize', measure);
  }, [images]);

  // A new filter starts at the top; an edit (exclude, relabel) reloads the rows but stays in place.
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new view (filter) starts at the top
  useEffect(() => {
    virtualizer.scrollToIndex(0);
    setCursor(0);
    anchor.current = 0;
  }, [props.view, virtualizer]);
  const at = Math.min(cursor, images.length - 1);

  const range = (a: number, b: number) => images.slice(Math.min(a, b), Math.max(a, b) + 1).map((img) => img.id);
  const moveTo = (index: number, extend: boolean) => {
    const next = Math.max(0, Math.min(images.length - 1, index));
    if (extend) setSelected(new Set(range(anchor.current, next)));
    else anchor.current = next;
    setCursor(next);
    virtualizer.scrollToIndex(Math.floor(next / columns), { align: 'auto' });
  };
  const toggle = (id: number) =>
    setSelected((prev) => {
      const next = new Set(prev);
      if (!next.delete(id)) next.add(id);
      return next;
    });

  // One listener for the whole grid: rows stay free of per-cell closures, so their memo holds.
  const onClick = (e: MouseEvent<HTMLDivElement>) => {
    const index = Number((e.target as HTMLElement).closest<HTMLElement>('[data-index]')?.dataset.index ?? NaN);
    if (!Number.isInteger(index) || !images[index]) return;
    const id = images[index].id;
    if (e.shiftKey) setSelected((prev) => new Set([...prev, ...range(anchor.current, index)]));
    else if (e.metaKey || e.ctrlKey) toggle(id);
    else setSelected(new Set([id]));
    if (!e.shiftKey) anchor.current = index;
    setCursor(index);
  };

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    if (images.length === 0) return;
    const page = Math.max(1, Math.floor((scrollRef.current?.clientHeight ?? 0) / (cell + GAP))) * columns;
    const moves: Record<string, number> = {
      ArrowLeft: at - 1,
      ArrowRight: at + 1,
      ArrowUp: at - columns,
      ArrowDown: at + columns,
      PageUp: at - page,
      PageDown: at + page,
      Home: 0,
      End: images.length - 1,
    };
    if (Object.hasOwn(moves, e.key)) moveTo(moves[e.key], e.shiftKey);
    else if (e.key === ' ' || e.key === 'Enter') toggle(images[at].id);
    else if (e.key === 'Escape') setSelected(new Set());
    else if (e.key.toLowerCase() === 'a' && (e.ctrlKey || e.metaKey)) setSelected(new Set(images.map((img) => img.id)));
    else return;
    e.preventDefault();
  };

  return (
    <div>
      <div
        ref={gridRef}
        className="thumb-grid"
        style={{ height: `calc(100vh - ${Math.round(top) + BELOW_GRID}px)`, minHeight: 320 }}
        tabIndex={0}
        role="listbox"
        aria-multiselectable="true"
        aria-label="Images"
        aria-activedescendant={images[at] ? CURSOR_ID : undefined}
        onClick={onClick}
        onKeyDown={onKeyDown}
        data-testid="thumb-grid"
      >
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {virtualizer.getVirtualItems().map((row) => {
            const first = row.index * columns;
            let mask = '';
            for (let i = first; i < Math.min(first + columns, images.length); i++) mask += selected.has(images[i].id) ? '1' : '0';
            return (
              <ThumbRow
                key={row.key}
                images={images}
                first={first}
                columns={columns}
                cell={cell}
                top={row.start}
                mask={mask}
                cursorColumn={at >= first && at < first + columns ? at - first : -1}
                loadImages={!fast}
                classById={props.classById}
                flags={props.flags}
                suggestion={props.suggestion}
                thumbUrl={thumbUrl}
              />
            );
          })}
        </div>
      </div>
    </div>
  );
}

/** True while the element scrolls faster than FAST_SCROLL_PX_PER_MS, until it has been slower for SETTLE_MS. */
function useFastScroll(ref: RefObject<HTMLElement | null>): boolean {
  const [fast, setFast] = useState(false);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    let lastTop = el.scrollTop;
    let lastTime = performance.now();
    let settle: ReturnType<typeof setTimeout> | undefined;
    const onScroll = () => {
      const now = performance.now();
      const speed = Math.abs(el.scrollTop - lastTop) / Math.max(1, now - lastTime);
      lastTop = el.scrollTop;
      lastTime = now;
      if (speed <= FAST_SCROLL_PX_PER_MS) return;
      setFast(true);
      clearTimeout(settle);
      settle = setTimeout(() => setFast(false), SETTLE_MS);
    };
    // Capture: at the target it runs before the virtualiser's listener, so rows mounted by this
    // scroll event already know it is fast.
    el.addEventListener('scroll', onScroll, { passive: true, capture: true });
    return () => {
      el.removeEventListener('scroll', onScroll, { capture: true });
      clearTimeout(settle);
    };
  }, [ref]);
  return fast;
}

/** One row of cells. Props are primitives or stable references, so scrolling renders only rows that mount. */
const ThumbRow = memo(function ThumbRow(props: {
  images: ImageRow[];
  first: number;
  columns: number;
  cell: number;
  top: number;
  /** '1' / '0' per cell: selected or not. */
  mask: string;
  cursorColumn: number;
  /** False in a fast scroll: the row shows its thumbnails once this has been true (and keeps them). */
  loadImages: boolean;
  classById: Map<number, ClassRow>;
  flags: Map<number, Set<string>>;
  suggestion: Suggestions;
  thumbUrl(id: number): string;
}) {
  const { images, first, cell, classById } = props;
  const loaded = useRef(false);
  loaded.current ||= props.loadImages;
  const cells = [];
  for (let c = 0; c < props.columns && first + c < images.length; c++) {
    const img = images[first + c];
    const cls = classById.get(img.classId)?.promptName ?? '?';
    const s = props.suggestion.get(img.id);
    const dup = props.flags.get(img.id)?.has('duplicate') === true;
    const selected = props.mask[c] === '1';
    // Attributes only where they say something: each one set is work when a row mounts.
    cells.push(
      // biome-ignore lint/a11y/useFocusableInteractive: focus stays on the listbox, which names the cursor cell with aria-activedescendant
      <div
        key={img.id}
        id={props.cursorColumn === c ? CURSOR_ID : undefined}
        className="thumb-cell"
        role="option"
        aria-selected={selected}
        title={`${img.relPath} · ${cls} · ${img.split}`}
        data-index={first + c}
        data-excluded={img.excluded || undefined}
        data-selected={selected || undefined}
        data-cursor={props.cursorColumn === c || undefined}
        data-testid="thumb"
      >
        {loaded.current && <img src={props.thumbUrl(img.id)} loading="lazy" decoding="async" alt="" draggable={false} />}
        <div className="thumb-tags">
          <span className="thumb-tag" data-kind="class">
            {cls}
          </span>
          {img.shot && (
            <span className="thumb-tag" data-kind="shot">
              shot
            </span>
          )}
          {img.excluded && (
            <span className="thumb-tag" data-kind="excluded">
              excluded
            </span>
          )}
          {dup && (
            <span className="thumb-tag" data-kind="dup">
              dup
            </span>
          )}
          {s && (
            <span className="thumb-tag" data-kind="suggestion">
              → {classById.get(s.suggestedClassId)?.promptName ?? '?'}
            </span>
          )}
        </div>
      </div>,
    );
  }
  return (
    <div className="thumb-row" style={{ transform: `translateY(${props.top}px)`, height: cell, gap: GAP, ['--cell' as string]: `${cell}px` }}>
      {cells}
    </div>
  );
});
