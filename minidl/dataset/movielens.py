"""MovieLens 1M (GroupLens Research): 1,000,209 ratings of about 3,900 movies by 6,040 users,
as Paddle read it.

``ml-1m.zip`` (http://files.grouplens.org/datasets/movielens/ml-1m.zip) holds ``::``-separated
text in ISO-8859-1:

* ``ml-1m/movies.dat``: ``MovieID::Title (Year)::Genre|Genre|...``
* ``ml-1m/users.dat``: ``UserID::Gender(M/F)::Age::Occupation::Zip-code``, where Age is one of
  :data:`age_table` and Occupation an id 0..20
* ``ml-1m/ratings.dat``: ``UserID::MovieID::Rating(1..5)::Timestamp``

Samples (readers from :func:`train` / :func:`test`) are lists of 8 items, ``UserInfo.value() +
MovieInfo.value() + [[score]]``::

    [user id, gender (0 male, 1 female), age index into age_table, job id,
     movie id, [category ids], [title word ids], [rating * 2 - 5.0]]

Titles lose their ``(Year)``; title words are the title split on ASCII whitespace and
lower-cased in ASCII only (as Paddle's Python 2 did on the bytes), then decoded as ISO-8859-1.

Train/test split, Paddle's rule reproduced exactly: ``random.Random(rand_seed)`` (default 0)
draws one ``random()`` per line of ``ratings.dat``, in file order, whether or not the line is
used; a line belongs to the TEST set when its draw is ``< test_ratio`` (default 0.1), else to
the training set. Python 3's Mersenne Twister, seeded with the same integer, gives the same
draws as Paddle's Python 2, so the split is identical (about 90% / 10%, ratings in file order).
``train(rand_seed=..., test_ratio=...)`` take the same keywords as Paddle's.

Dictionaries: Paddle numbered the categories and the title words in the iteration order of a
Python 2 ``set``, an order that hash values decide and that Python 3 cannot reproduce. minidl
numbers them in sorted order (categories by name, title words by code point = byte order), so
the ids are deterministic but NOT equal to those of a Paddle v2 run.

The archive is md5-checked when the meta functions are called and when a reader is iterated
(not when ``train()``/``test()`` create it), as in Paddle; the parsed movie and user tables are
kept in memory per archive file.
"""

import functools
import os
import random
import re
import zipfile
import zlib

from . import common

__all__ = ["MovieInfo", "UserInfo", "age_table", "fetch", "get_movie_title_dict", "max_job_id",
           "max_movie_id", "max_user_id", "movie_categories", "movie_info", "test", "train",
           "user_info"]

URLS = ("http://files.grouplens.org/datasets/movielens/ml-1m.zip",  # Paddle v2's source
        "https://dataset.bj.bcebos.com/movielens%2Fml-1m.zip")  # later Paddle's mirror
FILE = "ml-1m.zip"
MD5 = "c4d9eecfca2ab87c1945afe126590906"
MOVIES, USERS, RATINGS = "ml-1m/movies.dat", "ml-1m/users.dat", "ml-1m/ratings.dat"
ENCODING = "latin-1"

#: the age groups of users.dat; a user's age feature is the index of its group here
age_table = [1, 18, 25, 35, 45, 50, 56]

_TITLE = re.compile(rb"^(.*)\((\d+)\)$")

# the tables of the archive read last, as Paddle's module globals (MovieInfo.value() uses them)
MOVIE_INFO = None
MOVIE_TITLE_DICT = None
CATEGORIES_DICT = None
USER_INFO = None
_cache = {}  # (path, size, mtime) -> _Meta


def _title_words(title):
    """Paddle's ``[w.lower() for w in title.split()]`` on Python 2 byte strings."""
    return [w.lower().decode(ENCODING) for w in title.encode(ENCODING).split()]


class MovieInfo:
    """One movie of ``movies.dat``: id, categories (names) and title (without the year)."""

    def __init__(self, index, categories, title, categories_dict=None, title_dict=None):
        self.index = int(index)
        self.categories = categories
        self.title = title
        self._categories_dict = categories_dict
        self._title_dict = title_dict

    def value(self):
        """``[movie id, [category ids], [title word ids]]``."""
        categories_dict = (CATEGORIES_DICT if self._categories_dict is None
                           else self._categories_dict)
        title_dict = MOVIE_TITLE_DICT if self._title_dict is None else self._title_dict
        if categories_dict is None or title_dict is None:
            raise RuntimeError("MovieInfo.value() needs the dictionaries of an archive: call a "
                               "movielens function such as movie_info() first")
        return [self.index, [categories_dict[c] for c in self.categories],
                [title_dict[w] for w in _title_words(self.title)]]

    def __str__(self):
        return f"<MovieInfo id({self.index}), title({self.title}), categories({self.categories})>"

    __repr__ = __str__


class UserInfo:
    """One user of ``users.dat``: id, gender, age group (index into :data:`age_table`), job id."""

    def __init__(self, index, gender, age, job_id):
        self.index = int(index)
        self.is_male = gender == "M"
        self.age = age_table.index(int(age))
        self.job_id = int(job_id)

    def value(self):
        """``[user id, 0 male / 1 female, age index, job id]``."""
        return [self.index, 0 if self.is_male else 1, self.age, self.job_id]

    def __str__(self):
        gender = "M" if self.is_male else "F"
        return (f"<UserInfo id({self.index}), gender({gender}), age({age_table[self.age]}), "
                f"job({self.job_id})>")

    __repr__ = __str__


class _Meta:
    def __init__(self, movies, title_dict, categories_dict, users):
        self.movies, self.title_dict = movies, title_dict
        self.categories_dict, self.users = categories_dict, users


def _archive():
    return common.fetch("movielens", [common.RemoteFile(FILE, MD5, URLS)])[0]


def _open_zip(path):
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise common.DatasetFormatError(f"{path}: not a readable zip archive ({error})") from None


def _member_lines(path, package, member):
    """The lines (bytes, stripped) of one member; damage is a DatasetFormatError."""
    try:
        with package.open(member) as f:
            for number, line in enumerate(f, 1):
                yield number, line.strip()
    except KeyError:
        raise common.DatasetFormatError(
            f"{path}: no member {member} (ml-1m.zip has ml-1m/movies.dat, users.dat and "
            "ratings.dat)") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
        raise common.DatasetFormatError(f"{path}:{member}: unreadable ({error})") from None


def _fields(path, member, number, line, count):
    fields = line.split(b"::")
    if len(fields) != count:
        raise common.DatasetFormatError(
            f"{path}:{member} line {number}: expected {count} '::'-separated fields, got "
            f"{line.decode(ENCODING)!r}")
    return fields


def _parse_meta(path):
    movies, users = {}, {}
    title_words, categories = set(), set()
    with _open_zip(path) as package:
        for number, line in _member_lines(path, package, MOVIES):
            movie_id, title, genres = _fields(path, MOVIES, number, line, 3)
            match = _TITLE.match(title)
            if match is None or not movie_id.isdigit():
                raise common.DatasetFormatError(
                    f"{path}:{MOVIES} line {number}: expected 'id::Title (Year)::Genres', got "
                    f"{line.decode(ENCODING)!r}")
            names = genres.decode(ENCODING).split("|")
            categories.update(names)
            title = match.group(1).decode(ENCODING)
            title_words.update(_title_words(title))
            movies[int(movie_id)] = MovieInfo(movie_id, names, title)
        for number, line in _member_lines(path, package, USERS):
            uid, gender, age, job, _ = _fields(path, USERS, number, line, 5)
            try:
                users[int(uid)] = UserInfo(uid, gender.decode(ENCODING), age, job)
            except ValueError:
                raise common.DatasetFormatError(
                    f"{path}:{USERS} line {number}: expected 'id::M/F::age in {age_table}::job"
                    f"::zip', got {line.decode(ENCODING)!r}") from None
    title_dict = {w: i for i, w in enumerate(sorted(title_words))}
    categories_dict = {c: i for i, c in enumerate(sorted(categories))}
    for movie in movies.values():
        movie._categories_dict, movie._title_dict = categories_dict, title_dict
    return _Meta(movies, title_dict, categories_dict, users)


def _meta():
    """Download (if needed) and parse the movie and user tables, cached per archive file."""
    global MOVIE_INFO, MOVIE_TITLE_DICT, CATEGORIES_DICT, USER_INFO
    path = _archive()
    stat = os.stat(path)
    key = (os.path.abspath(path), stat.st_size, stat.st_mtime_ns)
    meta = _cache.get(key)
    if meta is None:
        meta = _cache[key] = _parse_meta(path)
    MOVIE_INFO, MOVIE_TITLE_DICT = meta.movies, meta.title_dict
    CATEGORIES_DICT, USER_INFO = meta.categories_dict, meta.users
    return path, meta


def _reader(rand_seed=0, test_ratio=0.1, is_test=False):
    path, meta = _meta()
    rand = random.Random(rand_seed)
    with _open_zip(path) as package:
        for number, line in _member_lines(path, package, RATINGS):
            if (rand.random() < test_ratio) != is_test:
                continue
            uid, movie_id, rating, _ = _fields(path, RATINGS, number, line, 4)
            try:
                user, movie = meta.users[int(uid)], meta.movies[int(movie_id)]
                score = float(rating) * 2 - 5.0
            except (KeyError, ValueError) as error:
                raise common.DatasetFormatError(
                    f"{path}:{RATINGS} line {number}: {line.decode(ENCODING)!r} names an unknown "
                    f"user or movie or is not a number ({error!r})") from None
            yield user.value() + movie.value() + [[score]]


def _reader_creator(**kwargs):
    return functools.partial(_reader, **kwargs)


def train(rand_seed=0, test_ratio=0.1):
    """Reader creator of the training ratings (draw ``>= test_ratio``); see module doc."""
    return _reader_creator(rand_seed=rand_seed, test_ratio=test_ratio, is_test=False)


def test(rand_seed=0, test_ratio=0.1):
    """Reader creator of the test ratings (draw ``< test_ratio``); see module doc."""
    return _reader_creator(rand_seed=rand_seed, test_ratio=test_ratio, is_test=True)


def get_movie_title_dict():
    """``{lower-cased title word: id}``, ids in sorted word order (see module doc)."""
    return _meta()[1].title_dict


def movie_categories():
    """``{category name: id}``, ids in sorted name order (see module doc)."""
    return _meta()[1].categories_dict


def user_info():
    """``{user id: UserInfo}``."""
    return _meta()[1].users


def movie_info():
    """``{movie id: MovieInfo}``."""
    return _meta()[1].movies


def max_movie_id():
    """The largest movie id (3952 in ml-1m)."""
    return max(movie.index for movie in _meta()[1].movies.values())


def max_user_id():
    """The largest user id (6040 in ml-1m)."""
    return max(user.index for user in _meta()[1].users.values())


def max_job_id():
    """The largest occupation id (20 in ml-1m)."""
    return max(user.job_id for user in _meta()[1].users.values())


def fetch():
    """Download ``ml-1m.zip`` into the cache (if not there yet)."""
    _archive()
