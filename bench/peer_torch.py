"""PyTorch peer of `lamm bench train` (issue 6): one LAMM training step of a ViT-B/16-sized CLIP
with random weights, timed two ways on the same task:

  official  as the released LAMM code computes it: the frozen image encoder on a fresh augmented
            batch every step, and both text passes over all C classes at 77 tokens (labels E
            spliced in, with grad; E0 for the zero-shot features, without).
  cached    our algorithm (DESIGN §6): image features cached, zero-shot text features computed
            once, prompts cut to their real length, the shared template prefix "[SOT] a photo of a"
            run once with its per-layer keys/values kept, so each step runs only the positions
            from the first label token on, all classes in one batch.

Both use the same loss (DESIGN §3) and optimiser. Before timing, `cached` is checked against a full
uncached 77-token computation of the loss and dL/dE on the same inputs. The towers follow OpenAI's
CLIP modules (nn.MultiheadAttention, LND layout), as the official code runs them; the cached path
re-implements attention on the same weights, so the check also compares two implementations.

Prints one JSON object on stdout, progress on stderr. Meant for Debian's python3-torch with
OpenBLAS; bench/peer sets up the environment (threads, OpenBLAS kernel) and runs it.
Usage: /usr/bin/python3 bench/peer_torch.py [--classes C] [--shots K] [--steps N] [--layers L]
       [--only both|official|cached] [--seed S] [--device cpu|cuda]
--device cuda (bench/device, on a GPU machine) builds every tensor there (torch.set_default_device)
and waits for the GPU before each step's clock stops.
"""
import argparse
import ctypes
import json
import math
import resource
import sys
import time
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

# ViT-B/16 CLIP (issue 6): text 512 wide, 12 layers, 8 heads, 77 tokens; vision 768/12/12 at 224 px.
TEXT_WIDTH, TEXT_HEADS, CONTEXT, VOCAB = 512, 8, 77, 49408
VISION_WIDTH, VISION_HEADS, IMAGE_SIZE, PATCH = 768, 12, 224, 16
PROJECTION, DEFAULT_LAYERS = 512, 12
SOT, EOT, PERIOD = 49406, 49407, 269
TEMPLATE = [320, 1125, 539, 320]  # "a photo of a" in CLIP's vocabulary
LABEL_START = 1 + len(TEMPLATE)  # first label token: after [SOT] and the template
LOGIT_SCALE = math.log(1 / 0.07)  # CLIP's initial value; the timing does not depend on it

# Training defaults as released (DESIGN §3).
BATCH, LR, MOMENTUM, WEIGHT_DECAY = 32, 0.002, 0.9, 5e-4
LAMBDA_WC, LAMBDA_COS, LAMBDA_KD, TEMPERATURE = 1.0, 1.0, 0.05, 2.0
VIEWS, EPOCHS = 8, 50  # cached views per image and epochs: only for the amortised caching cost

THREADS = 2
VERIFY_MAX_CLASSES = 100  # a 77-token backward over 1,000 classes needs ~40 GB: check on a prefix
VERIFY_TOLERANCE = 1e-4
DEVICE = "cpu"  # --device


def log(message):
    print(f"[peer] {message}", file=sys.stderr, flush=True)


# ---- CLIP towers, module for module as OpenAI's clip/model.py (which the official code uses) ----

class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class Block(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_1 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(OrderedDict(
            c_fc=nn.Linear(width, 4 * width), gelu=QuickGELU(), c_proj=nn.Linear(4 * width, width)))
        self.ln_2 = nn.LayerNorm(width)

    def forward(self, x, mask=None):  # x: [L, N, D]
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False, attn_mask=mask)[0]
        return x + self.mlp(self.ln_2(x))


class TextTower(nn.Module):
    def __init__(self, layers):
        super().__init__()
        self.token_embedding = nn.Embedding(VOCAB, TEXT_WIDTH)
        self.positional_embedding = nn.Parameter(torch.empty(CONTEXT, TEXT_WIDTH))
        self.blocks = nn.ModuleList(Block(TEXT_WIDTH, TEXT_HEADS) for _ in range(layers))
        self.ln_final = nn.LayerNorm(TEXT_WIDTH)
        self.text_projection = nn.Parameter(torch.empty(TEXT_WIDTH, PROJECTION))
        self.register_buffer("causal_mask", torch.full((CONTEXT, CONTEXT), float("-inf")).triu(1))
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.positional_embedding, std=0.01)
        nn.init.normal_(self.text_projection, std=TEXT_WIDTH ** -0.5)

    def forward(self, prompts, eot_index):
        """The official TextEncoder: prompt embeddings [N, 77, D] -> features at EOT [N, P]."""
        x = (prompts + self.positional_embedding).permute(1, 0, 2)
        for block in self.blocks:
            x = block(x, self.causal_mask)
        x = self.ln_final(x.permute(1, 0, 2))
        return x[torch.arange(x.shape[0]), eot_index] @ self.text_projection


class VisionTower(nn.Module):
    def __init__(self, layers):
        super().__init__()
        grid = IMAGE_SIZE // PATCH
        self.conv1 = nn.Conv2d(3, VISION_WIDTH, PATCH, PATCH, bias=False)
        self.class_embedding = nn.Parameter(torch.randn(VISION_WIDTH) * VISION_WIDTH ** -0.5)
        self.positional_embedding = nn.Parameter(torch.randn(grid * grid + 1, VISION_WIDTH) * VISION_WIDTH ** -0.5)
        self.ln_pre = nn.LayerNorm(VISION_WIDTH)
        self.blocks = nn.ModuleList(Block(VISION_WIDTH, VISION_HEADS) for _ in range(layers))
        self.ln_post = nn.LayerNorm(VISION_WIDTH)
        self.proj = nn.Parameter(torch.randn(VISION_WIDTH, PROJECTION) * VISION_WIDTH ** -0.5)

    def forward(self, images):
        x = self.conv1(images).flatten(2).permute(0, 2, 1)
        x = torch.cat([self.class_embedding.expand(x.shape[0], 1, -1), x], 1) + self.positional_embedding
        x = self.ln_pre(x).permute(1, 0, 2)
        for block in self.blocks:
            x = block(x)
        return self.ln_post(x[0]) @ self.proj


# ---- the task: C classes of 1-3-token names, prompts "[SOT] a photo of a {name}. [EOT]" ----

class Task:
    def __init__(self, text, names):
        self.names = names
        self.min_len = min(len(n) for n in names)
        rows = [[SOT, *TEMPLATE, *name, PERIOD, EOT] for name in names]
        self.eot_index = torch.tensor([len(r) - 1 for r in rows])
        tokens = torch.tensor([r + [0] * (CONTEXT - len(r)) for r in rows])
        with torch.no_grad():
            self.embeddings = text.token_embedding(tokens)  # [C, 77, D], frozen
        self.E0 = self.embeddings[:, LABEL_START:LABEL_START + self.min_len].clone()

    def prompts(self, E):
        """The official PromptLearner: frozen prefix, the label tokens E, frozen rest; 77 tokens."""
        emb = self.embeddings
        return torch.cat([emb[:, :LABEL_START], E, emb[:, LABEL_START + self.min_len:]], 1)


def synthetic_names(classes, generator):
    lengths = torch.randint(1, 4, (classes,), generator=generator).tolist()
    lengths[0] = 1  # min_len = 1, as in most real tasks
    return [torch.randint(1000, 49000, (n,), generator=generator).tolist() for n in lengths]


# ---- our algorithm: cut prompts, shared prefix keys/values computed once ----

def block_after_prefix(block, x, past_k, past_v):
    """One block on positions that follow `past` ones whose keys/values are given. x: [N, S, D];
    past_*: [1, H, P, hd]. The same arithmetic as nn.MultiheadAttention, on its weights."""
    n, s, d = x.shape
    heads = block.attn.num_heads
    h = block.ln_1(x)
    q, k, v = F.linear(h, block.attn.in_proj_weight, block.attn.in_proj_bias).chunk(3, -1)
    q, k, v = (t.reshape(n, s, heads, d // heads).transpose(1, 2) for t in (q, k, v))
    keys = torch.cat([past_k.expand(n, -1, -1, -1), k], 2)
    values = torch.cat([past_v.expand(n, -1, -1, -1), v], 2)
    p = past_k.shape[2]
    mask = torch.full((s, p + s), float("-inf")).triu(p + 1)  # query i sees keys up to p + i
    attn = ((q * (d // heads) ** -0.5) @ keys.transpose(-1, -2) + mask).softmax(-1) @ values
    x = x + block.attn.out_proj(attn.transpose(1, 2).reshape(n, s, d))
    return x + block.mlp(block.ln_2(x)), k, v


class CachedText:
    def __init__(self, text, task):
        self.text, self.task = text, task
        length = int(task.eot_index.max()) + 1  # the longest prompt: causal, so nothing after matters
        self.frozen_rest = task.embeddings[:, LABEL_START + task.min_len:length]
        self.positions = text.positional_embedding[LABEL_START:length]
        self.run_tokens = length - LABEL_START
        with torch.no_grad():
            # The prefix is the same for every class and, under the causal mask, never sees the labels.
            x = task.embeddings[:1, :LABEL_START] + text.positional_embedding[:LABEL_START]
            empty = x.new_zeros(1, TEXT_HEADS, 0, TEXT_WIDTH // TEXT_HEADS)
            self.prefix_kv = []
            for block in text.blocks:
                x, k, v = block_after_prefix(block, x, empty, empty)
                self.prefix_kv.append((k, v))
            self.zero_shot = self.features(task.E0)

    def features(self, E):
        x = torch.cat([E, self.frozen_rest], 1) + self.positions
        for block, (k, v) in zip(self.text.blocks, self.prefix_kv):
            x, _, _ = block_after_prefix(block, x, k, v)
        x = self.text.ln_final(x)
        return x[torch.arange(x.shape[0]), self.task.eot_index - LABEL_START] @ self.text.text_projection


# ---- the loss and one step of each algorithm ----

def lamm_loss(image_features, labels, t, t0, E, E0):
    t, t0 = F.normalize(t, dim=-1), F.normalize(t0, dim=-1)
    scale = math.exp(LOGIT_SCALE)
    z, z0 = scale * image_features @ t.T, scale * image_features @ t0.T
    ce = F.cross_entropy(z, labels)
    wc = ((E - E0) ** 2).sum()
    cos = (1 - F.cosine_similarity(t[labels], t0[labels], dim=-1)).mean()
    kd = -(F.softmax(z / TEMPERATURE, 1) * F.log_softmax(z0 / TEMPERATURE, 1)).sum(1).mean() * TEMPERATURE ** 2
    return ce + LAMBDA_WC * wc + LAMBDA_COS * cos + LAMBDA_KD * kd


def labels_parameter(task):
    E = nn.Parameter(task.E0.clone())
    return E, torch.optim.SGD([E], lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)


def official_step(vision, text, task, E, optimiser, images, labels, timings):
    start = time.perf_counter()
    with torch.no_grad():
        image_features = F.normalize(vision(images), dim=-1)
        timings.append(time.perf_counter() - start)
        t0 = text(task.prompts(task.E0), task.eot_index)
    t = text(task.prompts(E), task.eot_index)
    loss = lamm_loss(image_features, labels, t, t0, E, task.E0)
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()


def cached_step(cached, E, optimiser, image_features, labels):
    t = cached.features(E)
    loss = lamm_loss(image_features, labels, t, cached.zero_shot, E, cached.task.E0)
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()


# ---- inputs: K-shot labels, cached features, freshly augmented images ----

class Batches:
    """Batches of labels over the C*K training images, reshuffled each epoch, as a DataLoader would."""

    def __init__(self, classes, shots, generator):
        self.labels = torch.arange(classes).repeat_interleave(shots)
        self.generator, self.order = generator, []

    def next(self):
        if len(self.order) < BATCH:
            self.order = torch.randperm(len(self.labels), generator=self.generator).tolist()
        picked, self.order = self.order[:BATCH], self.order[BATCH:]
        return torch.tensor(picked), self.labels[picked]


def augmented_images(sources, indices, generator):
    """RandomResizedCrop(scale 0.08-1, ratio 3/4-4/3, bicubic) to 224 px + horizontal flip."""
    out = []
    size = sources.shape[-1]
    for i in indices.tolist():
        for _ in range(10):
            area = size * size * float(torch.empty(1).uniform_(0.08, 1, generator=generator))
            ratio = math.exp(float(torch.empty(1).uniform_(math.log(3 / 4), math.log(4 / 3), generator=generator)))
            w, h = round(math.sqrt(area * ratio)), round(math.sqrt(area / ratio))
            if w <= size and h <= size:
                break
        else:
            w = h = size
        top = int(torch.randint(0, size - h + 1, (1,), generator=generator))
        left = int(torch.randint(0, size - w + 1, (1,), generator=generator))
        crop = sources[i % len(sources), :, top:top + h, left:left + w]
        view = F.interpolate(crop[None], size=(IMAGE_SIZE, IMAGE_SIZE), mode="bicubic", align_corners=False)
        out.append(view.flip(-1) if torch.rand(1, generator=generator) < 0.5 else view)
    return torch.cat(out)


# ---- measuring ----

def sync():
    """Waits for queued GPU work (CUDA runs asynchronously); nothing to wait for on the CPU."""
    if DEVICE.startswith("cuda"):
        torch.cuda.synchronize()


def time_steps(step, prepare, steps):
    """Warm up one step, then time `steps`; inputs are prepared outside the timed region."""
    step(*prepare())
    sync()
    seconds = []
    for _ in range(steps):
        inputs = prepare()
        sync()
        start = time.perf_counter()
        step(*inputs)
        sync()
        seconds.append(time.perf_counter() - start)
    return seconds


def mean(values):
    return sum(values) / len(values)  # as `lamm bench train` reports its steps


def verify_cached(text, task, generator):
    """Loss and dL/dE of the cached path against a full uncached 77-token computation."""
    E = (task.E0 + 0.01 * torch.randn(task.E0.shape, generator=generator)).requires_grad_()
    image_features = F.normalize(torch.randn(BATCH, PROJECTION, generator=generator), dim=-1)
    labels = torch.randint(0, len(task.names), (BATCH,), generator=generator)
    with torch.no_grad():
        t0_full = text(task.prompts(task.E0), task.eot_index)
    loss_full = lamm_loss(image_features, labels, text(task.prompts(E), task.eot_index), t0_full, E, task.E0)
    (grad_full,) = torch.autograd.grad(loss_full, E)
    cached = CachedText(text, task)
    loss_cached = lamm_loss(image_features, labels, cached.features(E), cached.zero_shot, E, task.E0)
    (grad_cached,) = torch.autograd.grad(loss_cached, E)
    rel = lambda a, b: float((a - b).abs().max() / b.abs().max())
    return {
        "classes": len(task.names),
        "loss": float(loss_full),
        "lossRelDiff": rel(loss_cached.detach(), loss_full.detach()),
        "gradRelDiff": rel(grad_cached, grad_full),
        "zeroShotRelDiff": rel(cached.zero_shot, t0_full),
    }


def blas_info():
    """Which BLAS torch really calls, and which OpenBLAS kernel it picked."""
    with open("/proc/self/maps") as maps:
        libraries = sorted({line.split()[-1] for line in maps if "blas" in line.lower() and "/" in line})
    info = {"libraries": libraries}
    openblas = [lib for lib in libraries if "libopenblas" in lib]
    if openblas:
        lib = ctypes.CDLL(openblas[0])
        lib.openblas_get_corename.restype = ctypes.c_char_p
        lib.openblas_get_config.restype = ctypes.c_char_p
        info.update(coretype=lib.openblas_get_corename().decode(), config=lib.openblas_get_config().decode(),
                    threads=lib.openblas_get_num_threads())
    return info


def peak_rss_mb():
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--shots", type=int, default=16)
    parser.add_argument("--steps", type=int, default=3, help="timed steps after one warm-up step")
    parser.add_argument("--layers", type=int, default=DEFAULT_LAYERS, help="debug: fewer layers in both towers")
    parser.add_argument("--only", choices=["both", "official", "cached"], default="both")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="cpu, or cuda on a GPU machine (bench/device)")
    args = parser.parse_args()
    if args.classes < 2 or args.shots < 1 or args.steps < 1 or args.layers < 1:
        parser.error("--classes must be at least 2, --shots, --steps and --layers at least 1")

    global DEVICE
    DEVICE = args.device
    torch.set_num_threads(THREADS)
    if DEVICE != "cpu":
        torch.set_default_device(DEVICE)
    torch.manual_seed(args.seed)
    generator = torch.Generator(device=args.device).manual_seed(args.seed)
    text, vision = TextTower(args.layers), VisionTower(args.layers)
    for p in [*text.parameters(), *vision.parameters()]:
        p.requires_grad_(False)
    task = Task(text, synthetic_names(args.classes, generator))
    steps_per_epoch = math.ceil(args.classes * args.shots / BATCH)
    batches = Batches(args.classes, args.shots, generator)
    result = {"classes": args.classes, "shots": args.shots, "batch": BATCH, "layers": args.layers,
              "stepsPerEpoch": steps_per_epoch, "timedSteps": args.steps, "torch": torch.__version__,
              "threads": torch.get_num_threads(), "blas": blas_info(), "device": args.device,
              "gpu": torch.cuda.get_device_name() if args.device.startswith("cuda") else None}
    log(f"torch {torch.__version__}, {result['threads']} threads, BLAS {result['blas']}")

    if args.only in ("both", "cached"):
        log(f"cached: {args.classes} classes, {args.steps} timed steps")
        cached = CachedText(text, task)
        feature_bank = F.normalize(torch.randn(args.classes * args.shots, PROJECTION, generator=generator), dim=-1)
        E, optimiser = labels_parameter(task)

        def prepare():
            indices, labels = batches.next()
            return feature_bank[indices], labels

        seconds = time_steps(lambda f, y: cached_step(cached, E, optimiser, f, y), prepare, args.steps)
        result["cached"] = {"stepSeconds": mean(seconds), "epochSeconds": mean(seconds) * steps_per_epoch,
                            "steps": seconds, "promptTokens": LABEL_START + cached.run_tokens,
                            "runTokens": cached.run_tokens, "peakRssMB": peak_rss_mb()}
        log(f"cached: {result['cached']['stepSeconds']:.3f} s/step")

    verify_task = task if args.classes <= VERIFY_MAX_CLASSES else Task(text, task.names[:VERIFY_MAX_CLASSES])
    log(f"verifying cached against 77 tokens on {len(verify_task.names)} classes")
    result["verify"] = verify_cached(text, verify_task, generator)
    log(f"verify: {result['verify']}")

    if args.only in ("both", "official"):
        log(f"official: {args.classes} classes at {CONTEXT} tokens, {args.steps} timed steps")
        sources = torch.randn(16, 3, 256, 256, generator=generator)
        E, optimiser = labels_parameter(task)
        image_seconds = []

        def prepare():
            indices, labels = batches.next()
            return augmented_images(sources, indices, generator), labels

        seconds = time_steps(
            lambda images, y: official_step(vision, text, task, E, optimiser, images, y, image_seconds),
            prepare, args.steps)
        image_step = mean(image_seconds[1:])  # without the warm-up step
        result["official"] = {"stepSeconds": mean(seconds), "epochSeconds": mean(seconds) * steps_per_epoch,
                              "steps": seconds, "promptTokens": CONTEXT, "imageEncoderSeconds": image_step,
                              "peakRssMB": peak_rss_mb()}
        log(f"official: {result['official']['stepSeconds']:.2f} s/step, image encoder {image_step:.2f} s of it")
        if "cached" in result:
            # What `cached` leaves out of its epoch: encoding C*K*V views once, spread over the run's epochs.
            per_image = image_step / BATCH
            result["cached"].update(featureCacheViews=VIEWS, featureCacheEpochs=EPOCHS,
                                    featureCacheSecondsPerEpoch=per_image * args.classes * args.shots * VIEWS / EPOCHS)

    print(json.dumps(result))
    verify = result["verify"]
    if max(verify["lossRelDiff"], verify["gradRelDiff"]) > VERIFY_TOLERANCE:
        log(f"cached path disagrees with the 77-token computation beyond {VERIFY_TOLERANCE}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
