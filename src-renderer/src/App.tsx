import { AppShell, Badge, Box, Group, NavLink, Progress, ScrollArea, Stack, Text, ThemeIcon, Tooltip, UnstyledButton } from '@mantine/core';
import { PAGES, type PageId } from './pages';
import { useApp } from './state';
import { ProjectsPage } from './pages/Projects';
import { DatasetPage } from './pages/Dataset';
import { CuratePage } from './pages/Curate';
import { ModelPage } from './pages/Model';
import { TrainPage } from './pages/Train';
import { InspectPage } from './pages/Inspect';
import { ComparePage } from './pages/Compare';
import { ExportPage } from './pages/Export';
import { MapPage } from './pages/MapView';
import { NeedsProject } from './components/NeedsProject';
import logoUrl from './assets/logo.svg';

const PAGE_COMPONENTS: Record<PageId, () => React.JSX.Element> = {
  projects: ProjectsPage,
  dataset: DatasetPage,
  curate: CuratePage,
  model: ModelPage,
  train: TrainPage,
  inspect: InspectPage,
  compare: ComparePage,
  map: MapPage,
  export: ExportPage,
};

export function App() {
  const { page } = useApp();
  const Page = PAGE_COMPONENTS[page];
  const needsProject = PAGES.find((p) => p.id === page)?.needsProject;
  return (
    <AppShell navbar={{ width: 232, breakpoint: 0 }} footer={{ height: 34 }} padding="xl">
      <AppShell.Navbar p="sm">
        <Navigation />
      </AppShell.Navbar>
      <AppShell.Main>
        <Box maw={1400} mx="auto" data-testid={`page-${page}`}>
          {needsProject ? (
            <NeedsProject>
              <Page />
            </NeedsProject>
          ) : (
            <Page />
          )}
        </Box>
      </AppShell.Main>
      <AppShell.Footer>
        <StatusBar />
      </AppShell.Footer>
    </AppShell>
  );
}

function Navigation() {
  const { page, navigate, status } = useApp();
  const hasProject = !!status?.project;
  return (
    <Stack h="100%" gap={0}>
      <UnstyledButton onClick={() => navigate('projects')} mb="md" px={6}>
        <Group gap={10} wrap="nowrap">
          <img src={logoUrl} width={30} height={30} alt="" />
          <div>
            <Text fw={700} size="md" lh={1.1}>
              LAMM Studio
            </Text>
            <Text size="xs" c="dimmed" lh={1.2}>
              label embeddings for CLIP
            </Text>
          </div>
        </Group>
      </UnstyledButton>
      <ScrollArea style={{ flex: 1 }}>
        {PAGES.map((p) => (
          <NavLink
            key={p.id}
            active={page === p.id}
            disabled={p.needsProject && !hasProject}
            onClick={() => navigate(p.id)}
            label={p.label}
            description={p.hint}
            data-testid={`nav-${p.id}`}
            leftSection={
              <ThemeIcon size={26} radius="xl" variant={page === p.id ? 'filled' : 'light'} color={p.step === null ? 'gray' : 'indigo'}>
                <Text size="xs" fw={700}>
                  {p.step ?? '⌂'}
                </Text>
              </ThemeIcon>
            }
            styles={{ root: { borderRadius: 8, marginBottom: 2 } }}
          />
        ))}
      </ScrollArea>
      {status?.project && (
        <Box p="xs" mt="sm" style={{ borderTop: '1px solid var(--mantine-color-gray-3)' }}>
          <Text size="xs" c="dimmed">
            Open project
          </Text>
          <Text size="sm" fw={600} truncate data-testid="open-project-name">
            {status.project.name}
          </Text>
          <Text size="xs" c="dimmed">
            {status.project.classCount} classes · {status.project.imageCount.toLocaleString()} images
          </Text>
        </Box>
      )}
    </Stack>
  );
}

function StatusBar() {
  const { status, connection, jobs, api } = useApp();
  const running = Object.values(jobs).filter((j) => j.status === 'running');
  const connColor = connection === 'open' ? 'teal' : connection === 'connecting' ? 'yellow' : 'red';
  return (
    <Group h="100%" px="md" justify="space-between" wrap="nowrap" gap="lg" data-testid="status-bar">
      <Group gap="lg" wrap="nowrap">
        <Group gap={6} wrap="nowrap">
          <Box w={8} h={8} style={{ borderRadius: 8, background: `var(--mantine-color-${connColor}-6)` }} />
          <Text size="xs" c="dimmed">
            {status?.host === 'electron' ? 'Desktop' : 'lamm serve'} · {connection === 'open' ? 'connected' : connection}
          </Text>
        </Group>
        <Tooltip label="TensorFlow.js backend the engine computes with">
          <Text size="xs" c="dimmed" data-testid="backend">
            Backend: <b>{status?.backend ?? 'starts with the first job'}</b>
          </Text>
        </Tooltip>
        {status && (
          <Text size="xs" c="dimmed">
            v{status.version}
          </Text>
        )}
      </Group>
      <Group gap="md" wrap="nowrap" style={{ overflow: 'hidden' }}>
        {running.length === 0 && (
          <Text size="xs" c="dimmed">
            Idle
          </Text>
        )}
        {running.slice(0, 2).map((j) => {
          const pct = j.progress && j.progress.total > 0 ? (100 * j.progress.done) / j.progress.total : 0;
          return (
            <Group key={j.id} gap={8} wrap="nowrap" data-testid="status-job">
              <Text size="xs" truncate maw={220}>
                {j.title}
              </Text>
              <Progress value={pct} w={120} size="sm" animated />
              <Badge size="xs" color="red" variant="light" style={{ cursor: 'pointer' }} onClick={() => void api.cancelJob({ jobId: j.id })}>
                cancel
              </Badge>
            </Group>
          );
        })}
        {running.length > 2 && (
          <Text size="xs" c="dimmed">
            +{running.length - 2} more
          </Text>
        )}
      </Group>
    </Group>
  );
}
