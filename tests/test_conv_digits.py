"""A small CNN trains end to end on scikit-learn's 8×8 digits (a correctness test, not a timed one)."""

import numpy as np

import chainrule as cr


def test_small_cnn_learns_digits():
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None]  # (1797, 1, 8, 8)
    y = digits.target
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    train, test = order[:1200], order[1200:]
    net = cr.Sequential(
        cr.Conv2d(1, 8, 3, padding=1, dtype=np.float32, rng=rng),
        cr.ReLU(),
        cr.MaxPool2d(2),  # 8×4×4
        cr.Conv2d(8, 16, 3, padding=1, dtype=np.float32, rng=rng),
        cr.ReLU(),
        cr.MaxPool2d(2),  # 16×2×2
        cr.Flatten(),
        cr.Linear(16 * 2 * 2, 10, dtype=np.float32, rng=rng),
    )
    loss, opt = cr.CrossEntropyLoss(), cr.Adam(net.parameters(), lr=0.01)

    def evaluate(idx):
        logits = net(x[idx])
        return loss.forward(logits, y[idx]), float(np.mean(logits.argmax(axis=1) == y[idx]))

    start_loss, start_acc = evaluate(test)
    for _ in range(6):
        for batch in np.array_split(rng.permutation(train), len(train) // 32):
            net.zero_grad()
            loss.forward(net(x[batch]), y[batch])
            net.backward(loss.backward())
            opt.step()
    end_loss, end_acc = evaluate(test)
    assert end_loss < 0.3 * start_loss, (start_loss, end_loss)
    assert end_acc > 0.85 and start_acc < 0.3, (start_acc, end_acc)  # chance is 0.10
