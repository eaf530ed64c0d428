"""A movie recommender on MovieLens 1M, as in the PaddlePaddle book (chapter 5).

    python examples/recommender.py                 # ml-1m if cached, else synthetic data
    python examples/recommender.py --synthetic --passes 3
    python examples/recommender.py --real --batches 0   # the book's run: one full pass

Two towers meet in a cosine similarity. The user tower embeds the user id (32), gender (16),
age group (16) and occupation (16), passes each through an fc layer of its width and joins
them in a 200-unit tanh layer; the movie tower embeds the movie id (32), reads the sparse
set of categories with an fc layer (32) and runs a text convolution over the title words
(``paddle.networks.sequence_conv_pool``: embedding 32, window 3, 32 filters, max pooling),
then a 200-unit tanh layer. The prediction is ``5 * cos(user, movie)`` and the cost its
squared error against the score ``2 * rating - 5`` (ratings 1..5 become -3..5). Adam with
learning rate 1e-4, batches of 256, as the book; after training the script predicts user
234's rating of movie 345 with ``paddle.infer``, printed as ``(prediction + 5) / 2``.

Data: ``paddle.dataset.movielens`` when ``ml-1m.zip`` is in the dataset cache
(``$MINIDL_DATA_HOME/movielens``) or ``--real`` is given (downloading it if allowed);
otherwise synthetic users, movies and ratings in the same sample format, with the rule
the ratings follow printed on the "synthetic data:" line. By default a real run trains (and
tests) on the first 300 batches of its pass; ``--batches 0`` takes all 3,500.
"""

import argparse
import copy
import os

import numpy as np

import minidl as paddle

#: data layer name -> position in a movielens sample (the book's feeding)
FEEDING = {"user_id": 0, "gender_id": 1, "age_id": 2, "job_id": 3, "movie_id": 4,
           "category_id": 5, "movie_title": 6, "score": 7}
USER, MOVIE = 234, 345  # the book's inference example


class Meta:
    """The sizes the network needs, as ``paddle.dataset.movielens`` gives them."""

    def __init__(self, max_user_id, max_movie_id, max_job_id, age_groups, categories,
                 title_words):
        self.max_user_id, self.max_movie_id, self.max_job_id = max_user_id, max_movie_id, \
            max_job_id
        self.age_groups, self.categories, self.title_words = age_groups, categories, \
            title_words

    @classmethod
    def of_movielens(cls):
        movielens = paddle.dataset.movielens
        return cls(movielens.max_user_id(), movielens.max_movie_id(), movielens.max_job_id(),
                   len(movielens.age_table), len(movielens.movie_categories()),
                   len(movielens.get_movie_title_dict()))


def user_features(meta):
    """The user tower: id, gender, age group and job embeddings -> 200 tanh units."""
    def embedded(name, ids, width):
        data = paddle.layer.data(name=name, type=paddle.data_type.integer_value(ids))
        return paddle.layer.fc(input=paddle.layer.embedding(input=data, size=width), size=width)

    return paddle.layer.fc(
        input=[embedded("user_id", meta.max_user_id + 1, 32), embedded("gender_id", 2, 16),
               embedded("age_id", meta.age_groups, 16),
               embedded("job_id", meta.max_job_id + 1, 16)],
        size=200, act=paddle.activation.Tanh())


def movie_features(meta):
    """The movie tower: id embedding, categories (sparse) and a title convolution -> 200."""
    movie_id = paddle.layer.data(name="movie_id",
                                 type=paddle.data_type.integer_value(meta.max_movie_id + 1))
    movie_fc = paddle.layer.fc(input=paddle.layer.embedding(input=movie_id, size=32), size=32)
    categories = paddle.layer.data(
        name="category_id", type=paddle.data_type.sparse_binary_vector(meta.categories))
    categories_fc = paddle.layer.fc(input=categories, size=32)
    title = paddle.layer.data(
        name="movie_title", type=paddle.data_type.integer_value_sequence(meta.title_words))
    title_conv = paddle.networks.sequence_conv_pool(
        input=paddle.layer.embedding(input=title, size=32), hidden_size=32, context_len=3)
    return paddle.layer.fc(input=[movie_fc, categories_fc, title_conv], size=200,
                           act=paddle.activation.Tanh())


def network(meta):
    """The book's network: returns ``(cost, predicted score)``, the score ``5 * cos``."""
    inference = paddle.layer.cos_sim(a=user_features(meta), b=movie_features(meta), size=1,
                                     scale=5)
    score = paddle.layer.data(name="score", type=paddle.data_type.dense_vector(1))
    return paddle.layer.square_error_cost(input=inference, label=score), inference


# --- data ----------------------------------------------------------------------------------

def real_data_cached():
    """True when ``ml-1m.zip`` is already in the dataset cache (no download needed)."""
    return os.path.exists(os.path.join(paddle.dataset.common.module_dir("movielens"),
                                       paddle.dataset.movielens.FILE))


GENRES = ["Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
          "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
          "Thriller", "War", "Western"]


class SyntheticRatings:
    """Users, movies and ratings shaped like ml-1m's (same ranges of ids, ages, jobs and
    categories), rated by a rule the network can learn: users under 35 like one group of six
    genres and dislike another, older users the reverse; a movie of a liked genre gets 5 (4
    if it also has a disliked one), of a disliked genre only 1, otherwise 3; 10% of ratings
    are random. Title words
    come in part from a vocabulary per genre, so the title convolution has something to
    read. Samples are movielens samples: ``[user id, gender, age, job, movie id,
    [category ids], [title word ids], [2 * rating - 5]]``."""

    def __init__(self, users=300, movies=400, ratings=20000, seed=1):
        rng = np.random.default_rng(seed)
        self.users = {u: [u, int(rng.integers(2)), int(rng.integers(7)), int(rng.integers(21))]
                      for u in range(1, users + 1)}
        common = ["the", "of", "a", "night", "return", "man", "story", "day"]
        genre_words = [[f"{genre.lower()}{i}" for i in range(3)] for genre in GENRES]
        vocabulary = common + [w for words in genre_words for w in words]
        self.title_dict = {w: i for i, w in enumerate(sorted(vocabulary))}
        self.movies = {}
        for m in range(1, movies + 1):
            genres = sorted(rng.choice(len(GENRES), int(rng.integers(1, 4)), replace=False))
            words = [str(rng.choice(genre_words[g])) for g in genres]
            words += [str(rng.choice(common)) for _ in range(int(rng.integers(0, 3)))]
            rng.shuffle(words)
            self.movies[m] = [m, [int(g) for g in genres],
                              [self.title_dict[w] for w in words]]
        order = rng.permutation(len(GENRES)).tolist()
        self.groups = (set(order[:6]), set(order[6:12]))
        self.meta = Meta(users, movies, 20, 7, len(GENRES), len(self.title_dict))
        samples = [self._rate(rng, int(rng.integers(1, users + 1)),
                              int(rng.integers(1, movies + 1))) for _ in range(ratings)]
        cut = len(samples) * 9 // 10
        self.train_samples, self.test_samples = samples[:cut], samples[cut:]

    def rating(self, user, movie):
        """The rule's rating (1..5) of ``movie`` by ``user``."""
        young = paddle.dataset.movielens.age_table[self.users[user][2]] < 35
        liked, disliked = self.groups if young else self.groups[::-1]
        genres = set(self.movies[movie][1])
        if genres & disliked:
            return 4 if genres & liked else 1
        return 5 if genres & liked else 3

    def _rate(self, rng, user, movie):
        rating = int(rng.integers(1, 6)) if rng.random() < 0.1 else self.rating(user, movie)
        return self.users[user] + self.movies[movie] + [[rating * 2 - 5.0]]

    def describe(self):
        return (f"synthetic data: {len(self.train_samples)} training and "
                f"{len(self.test_samples)} test ratings of {len(self.movies)} movies by "
                f"{len(self.users)} users; users under 35 like six genres (rating 5) and "
                "dislike six others (rating 1), older users the reverse, other movies get 3; "
                "10% of ratings are random; predicting the mean score for all would cost "
                f"{np.var([sample[-1][0] for sample in self.test_samples]):.2f} on the test "
                "set")

    def features(self, user, movie):
        return self.users[user] + self.movies[movie]


def load_data(synthetic, seed):
    """``(meta, train reader, test reader, features(user, movie), expected rating or None,
    description)``."""
    if synthetic:
        data = SyntheticRatings(seed=seed)
        return (data.meta, lambda: iter(data.train_samples), lambda: iter(data.test_samples),
                data.features, data.rating(USER, MOVIE), data.describe())
    movielens = paddle.dataset.movielens

    def features(user, movie):
        return movielens.user_info()[user].value() + movielens.movie_info()[movie].value()
    return (Meta.of_movielens(), movielens.train(), movielens.test(), features, None,
            "data: MovieLens 1M (paddle.dataset.movielens)")


def main(synthetic=None, passes=None, batches=None, batch_size=256, seed=1, save=None,
         verbose=True):
    """Train; returns a dict: ``costs`` (mean training cost per pass), ``test_costs``,
    ``parameters``, ``prediction`` (``paddle.infer``'s output for user 234 and movie 345,
    ``(1, 1)``), ``rating`` (``(prediction + 5) / 2``), ``synthetic``."""
    if synthetic is None:
        synthetic = not real_data_cached()
    passes = passes if passes is not None else (8 if synthetic else 1)
    batches = batches if batches is not None else (0 if synthetic else 300)
    paddle.init(use_gpu=False, trainer_count=1, seed=seed)
    meta, train_reader, test_reader, features, expected, description = \
        load_data(synthetic, seed)
    if verbose:
        print(description)
    cost, inference = network(meta)
    parameters = paddle.parameters.create(cost)
    trainer = paddle.trainer.SGD(cost=cost, parameters=parameters,
                                 update_equation=paddle.optimizer.Adam(learning_rate=1e-4))
    batched = paddle.batch(paddle.reader.shuffle(train_reader, buf_size=8192), batch_size)
    test_batched = paddle.batch(test_reader, batch_size, drop_last=False)
    if batches:  # the first batches of each pass, and as many to test on
        batched = paddle.reader.firstn(batched, batches)
        test_batched = paddle.reader.firstn(test_batched, batches)
    costs, test_costs, pass_costs = [], [], []

    def event_handler(event):
        if isinstance(event, paddle.event.EndIteration):
            pass_costs.append(event.cost)
            if verbose and event.batch_id % 100 == 0:
                print(f"pass {event.pass_id}, batch {event.batch_id}, cost {event.cost:.3f}")
        if isinstance(event, paddle.event.EndPass):
            costs.append(float(np.mean(pass_costs)))
            pass_costs.clear()
            result = trainer.test(reader=test_batched,
                                  feeding=FEEDING)
            test_costs.append(result.cost)
            if verbose:
                print(f"pass {event.pass_id}: training cost {costs[-1]:.3f}, test cost "
                      f"{result.cost:.3f}")

    trainer.train(reader=batched, event_handler=event_handler, feeding=FEEDING,
                  num_passes=passes)
    if save:
        trainer.save_parameter_to_tar(save)

    infer_feeding = copy.copy(FEEDING)
    del infer_feeding["score"]
    prediction = paddle.infer(output_layer=inference, parameters=parameters,
                              input=[features(USER, MOVIE)], feeding=infer_feeding)
    rating = (prediction + 5) / 2
    if verbose:
        label = " synthetic" if synthetic else ""
        line = f"predicted rating of{label} movie {MOVIE} by{label} user {USER}: " \
               f"{rating[0, 0]:.2f}"
        if expected is not None:
            line += f" (the synthetic rule gives {expected})"
        print(line)
    return {"costs": costs, "test_costs": test_costs, "parameters": parameters,
            "prediction": prediction, "rating": rating, "synthetic": synthetic}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data = parser.add_mutually_exclusive_group()
    data.add_argument("--synthetic", action="store_true", default=None,
                      help="train on generated ratings (the default when ml-1m is not cached)")
    data.add_argument("--real", dest="synthetic", action="store_false",
                      help="train on MovieLens 1M (downloaded if not cached)")
    parser.add_argument("--passes", type=int, help="passes (default 8 synthetic, 1 real)")
    parser.add_argument("--batches", type=int,
                        help="training (and test) batches per pass, 0 for all "
                        "(default: all synthetic, 300 real)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--save", help="write the trained parameters to this tarball")
    args = parser.parse_args()
    main(args.synthetic, args.passes, args.batches, args.batch_size, args.seed, args.save)
