// The app's pages in workflow order: the navbar, the hash routes and the page switch read this.
export const PAGES = [
  { id: 'projects', label: 'Projects', hint: 'New, open, recent', step: null, needsProject: false },
  { id: 'dataset', label: 'Dataset', hint: 'Import, classes, shots', step: 1, needsProject: true },
  { id: 'curate', label: 'Curate', hint: 'Review images', step: 2, needsProject: true },
  { id: 'model', label: 'Model', hint: 'CLIP weights', step: 3, needsProject: true },
  { id: 'train', label: 'Train', hint: 'Zero-shot and LAMM', step: 4, needsProject: true },
  { id: 'inspect', label: 'Inspect', hint: 'Learned label tokens', step: 5, needsProject: true },
  { id: 'compare', label: 'Compare', hint: 'Zero-shot vs trained', step: 6, needsProject: true },
  { id: 'map', label: 'Map', hint: 'Images and labels in 2-D', step: 7, needsProject: true },
  { id: 'export', label: 'Export', hint: 'Save and classify', step: 8, needsProject: true },
] as const;

export type PageId = (typeof PAGES)[number]['id'];
