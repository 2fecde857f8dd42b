"""
P4 in PyTorch (float64, one thread): the gradient of L = sum((W2 tanh(W1 X) - Y)^2)
with respect to W1 and W2, on the same data as bench/problems.ts (sin-based waves),
to put derivd's P4 beside it (issue 11's target: derivd within 2x of this).

    /usr/bin/python3 bench/torch_p4.py      # Debian's python3-torch and libopenblas0-pthread

Prints one JSON line: the median of 50 timed calls after 10 warm-ups, in microseconds,
for the gradient and for the loss alone, the thread count and the torch version, and
the gradient's checksum so a reader can compare it with derivd's.
"""
import json
import math
import time

import torch

torch.set_num_threads(1)


def wave(shape, freq, phase, scale):
    n = math.prod(shape)
    return torch.tensor([scale * math.sin(freq * i + phase) for i in range(n)], dtype=torch.float64).reshape(shape)


W1 = wave([128, 64], 1.2345, 0.1, 0.25)
W2 = wave([10, 128], 2.3456, 0.2, 0.1)
X = wave([64, 256], 0.5678, 0.3, 1.0)
Y = wave([10, 256], 3.4567, 0.4, 0.5)


def loss(w1, w2):
    return ((w2 @ torch.tanh(w1 @ X) - Y) ** 2).sum()


def gradient():
    w1 = W1.clone().requires_grad_(True)
    w2 = W2.clone().requires_grad_(True)
    g1, g2 = torch.autograd.grad(loss(w1, w2), (w1, w2))
    return g1, g2


def median_us(f, warm=10, runs=50):
    for _ in range(warm):
        f()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        f()
        times.append((time.perf_counter() - t0) * 1e6)
    times.sort()
    return times[len(times) // 2]


g1, g2 = gradient()
print(
    json.dumps(
        {
            "problem": "P4",
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "gradientUs": median_us(gradient),
            "lossUs": median_us(lambda: loss(W1, W2)),
            "checksum": float(g1.abs().sum() + g2.abs().sum()),
        }
    )
)
