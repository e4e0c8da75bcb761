"""tap.py: the check harness the whole-stack suites share.

A check is a function that raises Fail (through expect) when what it looks at
is wrong; test() runs one and prints "ok - name" or "not ok - name: why".  A
suite ends with summary(), which prints the "N passed, N failed" line tests/run
adds up and returns the suite's exit status.  (Not executable: tests/run runs
only the executable files here.)
"""

PASSED = 0
FAILED = 0


class Fail(Exception):
    """A check did not hold; the message says why."""


def report(name, ok, why=""):
    global PASSED, FAILED
    if ok:
        PASSED += 1
        print("ok - %s" % name, flush=True)
    else:
        FAILED += 1
        why = " ".join(str(why).split())
        if len(why) > 800:
            why = why[:800] + "..."
        print("not ok - %s: %s" % (name, why), flush=True)


def note(text):
    print("# " + text, flush=True)


def expect(cond, why):
    if not cond:
        raise Fail(why)


def test(name, fn, *args):
    """Run one check; a crash of the check counts as its failure."""
    try:
        fn(*args)
    except Fail as e:
        report(name, False, e)
    except Exception as e:
        report(name, False, "%s: %s" % (type(e).__name__, e))
    else:
        report(name, True)


def failed():
    return FAILED


def summary():
    """Print the closing "N passed, N failed" line; the suite's exit status."""
    print("%d passed, %d failed" % (PASSED, FAILED), flush=True)
    return 1 if FAILED else 0
