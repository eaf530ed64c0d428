"""Ready-made networks in paddle.v2 style (the book's MNIST networks; more to come)."""
