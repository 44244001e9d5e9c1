// The embedding map's projections (plain data: the contract and the renderer read it too).
export const MAP_PROJECTIONS = ['pca', 'umap'] as const;
export type MapProjection = (typeof MAP_PROJECTIONS)[number];
