// The Map's points in WebGL2: one vertex per point (position, colour index, mark), one draw call
// for all of them and one more for the selection's outline. Written against WebGL2 itself
// rather than through regl, whose draw calls are compiled with `new Function` and so need
// 'unsafe-eval' in the page's Content-Security-Policy; nothing here generates code.

/** What a mark (train, test, shot, …) looks like: diameter in CSS px and opacity, indexed by mark. */
export interface MarkStyle {
  size: readonly number[];
  opacity: readonly number[];
}

/** The part of the data plane on screen: pixels per data unit and the data point at the canvas centre. */
export interface Camera {
  centerX: number;
  centerY: number;
  pixelsPerUnit: number;
}

export interface PointLayer {
  /** Positions (data units), and per point a palette index and a mark index. */
  setPoints(x: Float32Array, y: Float32Array, color: Int32Array, mark: Int32Array): void;
  /** CSS colours `#rrggbb`, indexed by a point's colour index. */
  setPalette(colors: readonly string[]): void;
  /** Indices of the points drawn with an outline, on top of the others. */
  setSelected(indices: readonly number[]): void;
  /** The canvas's CSS size and device pixel ratio. */
  resize(width: number, height: number, dpr: number): void;
  draw(camera: Camera): void;
  destroy(): void;
}

/** Palette texels per row: palettes longer than this wrap to further rows. */
const PALETTE_WIDTH = 256;
/** The selection outline: this many CSS px wider than the point, in this colour. */
const OUTLINE_PX = 4;
const OUTLINE_RGB = [0, 0, 0];

const VERTEX = `#version 300 es
in vec2 position;
in int colorIndex;
in int markIndex;
uniform vec4 view;        // clip = position * view.xy + view.zw
uniform float sizes[8];   // diameter per mark, device px
uniform float opacities[8];
uniform float grow;       // extra diameter (the outline pass)
uniform sampler2D palette;
uniform int paletteWidth;
out vec4 color;
out float diameter;
void main() {
  gl_Position = vec4(position * view.xy + view.zw, 0.0, 1.0);
  diameter = sizes[markIndex] + grow;
  gl_PointSize = diameter;
  vec3 rgb = texelFetch(palette, ivec2(colorIndex % paletteWidth, colorIndex / paletteWidth), 0).rgb;
  color = vec4(rgb, grow > 0.0 ? 1.0 : opacities[markIndex]);
}`;

const FRAGMENT = `#version 300 es
precision mediump float;
in vec4 color;
in float diameter;
uniform vec4 ink;         // ink.a > 0: draw in ink.rgb (the outline pass)
out vec4 fragment;
void main() {
  // A disc with a one-pixel soft edge.
  float r = length(gl_PointCoord * 2.0 - 1.0) * diameter * 0.5;
  float alpha = clamp(diameter * 0.5 - r + 0.5, 0.0, 1.0);
  if (alpha <= 0.0) discard;
  vec3 rgb = ink.a > 0.0 ? ink.rgb : color.rgb;
  fragment = vec4(rgb * color.a * alpha, color.a * alpha); // premultiplied
}`;

/** A point layer on `canvas`; throws a one-line reason when WebGL2 is not available. */
export function createPointLayer(canvas: HTMLCanvasElement, marks: MarkStyle): PointLayer {
  const gl = canvas.getContext('webgl2', { antialias: false, premultipliedAlpha: true, preserveDrawingBuffer: true });
  if (!gl) throw new Error('WebGL2 is not available');
  const program = link(gl, VERTEX, FRAGMENT);
  const at = (name: string) => gl.getAttribLocation(program, name);
  const u = Object.fromEntries(
    ['view', 'sizes', 'opacities', 'grow', 'palette', 'paletteWidth', 'ink'].map((name) => [name, gl.getUniformLocation(program, name)]),
  ) as Record<'view' | 'sizes' | 'opacities' | 'grow' | 'palette' | 'paletteWidth' | 'ink', WebGLUniformLocation | null>;

  const vao = gl.createVertexArray();
  gl.bindVertexArray(vao);
  const positions = gl.createBuffer();
  gl.bindBuffer(gl.ARRAY_BUFFER, positions);
  gl.enableVertexAttribArray(at('position'));
  gl.vertexAttribPointer(at('position'), 2, gl.FLOAT, false, 0, 0);
  const colors = gl.createBuffer();
  gl.bindBuffer(gl.ARRAY_BUFFER, colors);
  gl.enableVertexAttribArray(at('colorIndex'));
  gl.vertexAttribIPointer(at('colorIndex'), 1, gl.INT, 0, 0);
  const markBuffer = gl.createBuffer();
  gl.bindBuffer(gl.ARRAY_BUFFER, markBuffer);
  gl.enableVertexAttribArray(at('markIndex'));
  gl.vertexAttribIPointer(at('markIndex'), 1, gl.INT, 0, 0);
  const selection = gl.createBuffer();
  gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, selection);
  gl.bindVertexArray(null);

  const palette = gl.createTexture();
  gl.bindTexture(gl.TEXTURE_2D, palette);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);

  let count = 0;
  let selected = 0;
  let dpr = 1;
  let paletteWidth = 1;

  return {
    setPoints(x, y, color, mark) {
      const xy = new Float32Array(x.length * 2);
      for (let i = 0; i < x.length; i++) {
        xy[2 * i] = x[i];
        xy[2 * i + 1] = y[i];
      }
      gl.bindBuffer(gl.ARRAY_BUFFER, positions);
      gl.bufferData(gl.ARRAY_BUFFER, xy, gl.STATIC_DRAW);
      gl.bindBuffer(gl.ARRAY_BUFFER, colors);
      gl.bufferData(gl.ARRAY_BUFFER, color, gl.STATIC_DRAW);
      gl.bindBuffer(gl.ARRAY_BUFFER, markBuffer);
      gl.bufferData(gl.ARRAY_BUFFER, mark, gl.STATIC_DRAW);
      count = x.length;
      selected = 0;
    },
    setPalette(list) {
      const n = Math.max(1, list.length);
      paletteWidth = Math.min(PALETTE_WIDTH, n);
      const rows = Math.ceil(n / paletteWidth);
      const texels = new Uint8Array(paletteWidth * rows * 4);
      list.forEach((css, i) => texels.set([...hexToRgb(css), 255], i * 4));
      gl.bindTexture(gl.TEXTURE_2D, palette);
      gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, paletteWidth, rows, 0, gl.RGBA, gl.UNSIGNED_BYTE, texels);
    },
    setSelected(indices) {
      gl.bindVertexArray(vao);
      gl.bufferData(gl.ELEMENT_ARRAY_BUFFER, Uint32Array.from(indices), gl.DYNAMIC_DRAW);
      gl.bindVertexArray(null);
      selected = indices.length;
    },
    resize(width, height, ratio) {
      dpr = ratio;
      const w = Math.max(1, Math.round(width * dpr));
      const h = Math.max(1, Math.round(height * dpr));
      if (canvas.width !== w || canvas.height !== h) {
        canvas.width = w;
        canvas.height = h;
      }
    },
    draw(camera) {
      gl.viewport(0, 0, canvas.width, canvas.height);
      gl.clearColor(1, 1, 1, 1);
      gl.clear(gl.COLOR_BUFFER_BIT);
      if (count === 0) return;
      // biome-ignore lint/correctness/useHookAtTopLevel: WebGL's useProgram, not a React hook
      gl.useProgram(program);
      gl.bindVertexArray(vao);
      gl.enable(gl.BLEND);
      gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
      // Data units to clip space: the canvas is canvas.width / dpr CSS px wide.
      const sx = (camera.pixelsPerUnit * 2 * dpr) / canvas.width;
      const sy = (camera.pixelsPerUnit * 2 * dpr) / canvas.height;
      gl.uniform4f(u.view, sx, sy, -camera.centerX * sx, -camera.centerY * sy);
      gl.uniform1fv(u.sizes, padTo8(marks.size.map((s) => s * dpr)));
      gl.uniform1fv(u.opacities, padTo8(marks.opacity));
      gl.uniform1i(u.paletteWidth, paletteWidth);
      gl.activeTexture(gl.TEXTURE0);
      gl.bindTexture(gl.TEXTURE_2D, palette);
      gl.uniform1i(u.palette, 0);
      gl.uniform1f(u.grow, 0);
      gl.uniform4f(u.ink, 0, 0, 0, 0);
      gl.drawArrays(gl.POINTS, 0, count);
      if (selected > 0) {
        gl.uniform1f(u.grow, OUTLINE_PX * dpr);
        gl.uniform4f(u.ink, OUTLINE_RGB[0], OUTLINE_RGB[1], OUTLINE_RGB[2], 1);
        gl.drawElements(gl.POINTS, selected, gl.UNSIGNED_INT, 0);
        gl.uniform1f(u.grow, 0);
        gl.uniform4f(u.ink, 0, 0, 0, 0);
        gl.drawElements(gl.POINTS, selected, gl.UNSIGNED_INT, 0);
      }
      gl.bindVertexArray(null);
    },
    destroy() {
      gl.deleteBuffer(positions);
      gl.deleteBuffer(colors);
      gl.deleteBuffer(markBuffer);
      gl.deleteBuffer(selection);
      gl.deleteTexture(palette);
      gl.deleteVertexArray(vao);
      gl.deleteProgram(program);
    },
  };
}

function link(gl: WebGL2RenderingContext, vertex: string, fragment: string): WebGLProgram {
  const program = gl.createProgram();
  for (const [type, source] of [
    [gl.VERTEX_SHADER, vertex],
    [gl.FRAGMENT_SHADER, fragment],
  ] as const) {
    const shader = gl.createShader(type)!;
    gl.shaderSource(shader, source);
    gl.compileShader(shader);
    if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) throw new Error(`the map's shader does not compile: ${gl.getShaderInfoLog(shader)?.trim()}`);
    gl.attachShader(program, shader);
  }
  gl.linkProgram(program);
  if (!gl.getProgramParameter(program, gl.LINK_STATUS)) throw new Error(`the map's shaders do not link: ${gl.getProgramInfoLog(program)?.trim()}`);
  return program;
}

function padTo8(values: readonly number[]): Float32Array {
  const out = new Float32Array(8);
  out.set(values.slice(0, 8));
  return out;
}

function hexToRgb(css: string): [number, number, number] {
  const m = /^#([0-9a-f]{6})$/i.exec(css);
  const v = m ? Number.parseInt(m[1], 16) : 0x868e96;
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}
