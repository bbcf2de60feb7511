from ladder.training.throughput import matmul_flops, mfu


def test_mfu_arithmetic():
    # 6 x 100M params x 500 tok/s = 3e11 FLOP/s of a 1e12 peak
    assert mfu(100_000_000, 500.0, 1e12) == 0.3
    assert mfu(1, 1.0, 0.0) == 0.0


def test_matmul_flops_is_measured_and_positive():
    flops = matmul_flops("float32", size=128, seconds=0.05)
    assert 1e6 < flops < 1e15
