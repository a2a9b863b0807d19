# SPDX-License-Identifier: LGPL-2.1-or-later
"""The D-Bus contract of memhpd as Python values, read from lib/memhp-api.h, the one place it is
written: the tests and the docs checker compare against it instead of keeping their own copy.

    import memhp_api
    api = memhp_api.load()          # {'MEMHP_BUS_NAME': 'org.memhpd1', ...}
    api['MEMHP_MAX_BLOCKS_PER_CALL']  # 65536

Run as a script it prints the values as shell assignments, for shell tests:

    eval "$(python3 tests/memhp_api.py)"   # MEMHP_BUS_NAME=org.memhpd1 ...

The header holds only '#define NAME value' where value is integer literals or string literals
and earlier names, concatenated; anything else is an error here, so the header stays readable
by this parser (and by people).
"""
import os
import re

HEADER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'lib',
                      'memhp-api.h')

_TOKEN = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|(0x[0-9a-fA-F]+|[0-9]+)[uUlL]*|([A-Za-z_]\w*))')


def _value(name, text, known):
    parts, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(f'{HEADER}: #define {name}: cannot read {text[pos:]!r}')
        pos = m.end()
        if m.group(1) is not None:
            parts.append(bytes(m.group(1), 'utf-8').decode('unicode_escape'))
        elif m.group(2) is not None:
            parts.append(int(m.group(2), 0))
        elif m.group(3) in known:
            parts.append(known[m.group(3)])
        else:
            raise ValueError(f'{HEADER}: #define {name}: unknown name {m.group(3)}')
    if len(parts) == 1:
        return parts[0]
    if not all(isinstance(p, str) for p in parts):
        raise ValueError(f'{HEADER}: #define {name}: only strings concatenate')
    return ''.join(parts)


def load(path=HEADER):
    """Every MEMHP_* define of the header, in order, as str or int."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S).replace('\\\n', ' ')
    api = {}
    for m in re.finditer(r'^#define\s+(MEMHP_\w+)\s+(.*)$', text, re.M):
        api[m.group(1)] = _value(m.group(1), m.group(2), api)
    if 'MEMHP_BUS_NAME' not in api:
        raise ValueError(f'{path}: no MEMHP_BUS_NAME')
    return api


def with_prefix(api, prefix):
    """The values of every define named PREFIX*, in header order (e.g. 'MEMHP_ERROR_')."""
    return [v for k, v in api.items() if k.startswith(prefix) and not k.endswith('_CHOICES')]


if __name__ == '__main__':
    import shlex
    for key, value in load().items():
        print(f'{key}={shlex.quote(str(value))}')
