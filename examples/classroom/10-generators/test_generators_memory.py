from generators_memory import peak_memory_bytes, sum_of_squares_generator, sum_of_squares_list


def test_both_give_the_same_sum() -> None:
    assert sum_of_squares_list() == sum_of_squares_generator() == sum(k * k for k in range(200_000))


def test_the_generator_needs_a_small_fraction_of_the_lists_memory() -> None:
    assert peak_memory_bytes(sum_of_squares_generator) * 10 < peak_memory_bytes(sum_of_squares_list)
