#!/usr/bin/python3
"""The man pages match the programs.

- gaitwayd(8): the options of `gaitwayd --help` are the options of OPTIONS.
- gaitway(1): the commands of `gaitway --help` each have a section
  `## gaitway COMMAND ...` whose options are those of `gaitway COMMAND
  --help`, and the tool's own options are those of OPTIONS.
- gaitway.conf(5): the keys of each section are the keys the daemon accepts,
  read from its key tables (daemon/conf.c) and from each source kind's
  conf_key() (daemon/source-KIND.c).
- scdoc's output of every page is installed by the build.

    test-man.py GAITWAYD GAITWAY SOURCE_ROOT BUILD_ROOT
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pkgtest import Tally, run  # noqa: E402

GAITWAYD, GAITWAY, ROOT, BUILD = (os.path.abspath(a) for a in sys.argv[1:5])
MAN = os.path.join(ROOT, "docs", "man")
t = Tally("man-pages")

OPTION = re.compile(r"(?<![\w-])(--?[A-Za-z0-9][-A-Za-z0-9]*)")


def help_options(text):
    """Options of a --help text: the option column of lines indented 2 to 8
    blanks that start with '-'."""
    opts = set()
    for line in text.splitlines():
        m = re.match(r"^ {2,8}(-\S.*?)(?: {2,}|$)", line)
        if m:
            opts.update(OPTION.findall(m.group(1)))
    return opts


def help_commands(text):
    block = text.split("Commands:", 1)[1].split("\n\n", 1)[0]
    return [line.split()[0] for line in block.splitlines() if line.strip()]


def scd_blocks(path, level):
    """{heading: [lines]} of the '#'*level headings of an scdoc file."""
    blocks, cur = {}, None
    mark = "#" * level + " "
    for line in open(path):
        line = line.rstrip("\n")
        if line.startswith("#"):
            cur = line[len(mark):].strip() if line.startswith(mark) else None
            if cur is not None:
                blocks[cur] = []
            continue
        if cur is not None:
            blocks[cur].append(line)
    return blocks


def scd_options(lines):
    """Options defined in an scdoc block: the lines starting with '*-'."""
    opts = set()
    for line in lines:
        if line.startswith("*-"):
            opts.update(OPTION.findall(line))
    return opts


def compare(what, want, got, source="--help"):
    t.check(want == got, what, "only in %s: %s\nonly in the man page: %s"
            % (source, sorted(want - got) or "-", sorted(got - want) or "-"))


# ---- gaitwayd(8) -----------------------------------------------------------------------------------

r, out, err = run([GAITWAYD, "--help"])
page = os.path.join(MAN, "gaitwayd.8.scd")
compare("gaitwayd(8) OPTIONS lists exactly the options of gaitwayd --help",
        help_options(out), scd_options(scd_blocks(page, 1).get("OPTIONS", [])))

# ---- gaitway(1) ------------------------------------------------------------------------------------

r, out, err = run([GAITWAY, "--help"])
page = os.path.join(MAN, "gaitway.1.scd")
compare("gaitway(1) OPTIONS lists exactly the options of gaitway --help",
        help_options(out.split("Options:", 1)[1]), scd_options(scd_blocks(page, 1).get("OPTIONS", [])))
sections = {}
for heading, lines in scd_blocks(page, 2).items():
    m = re.match(r"gaitway (\w+)", heading)
    if m:
        sections[m.group(1)] = scd_options(lines)
commands = help_commands(out)
t.check(sorted(commands) == sorted(sections), "gaitway(1) has a section for every command of gaitway --help",
        "commands %s, sections %s" % (commands, sorted(sections)))
for cmd in commands:
    r, hout, herr = run([GAITWAY, cmd, "--help"])
    compare("gaitway(1) 'gaitway %s' lists exactly the options of gaitway %s --help" % (cmd, cmd),
            help_options(hout), sections.get(cmd, set()))

# ---- gaitway.conf(5) ---------------------------------------------------------------------------


def c_table(src, name):
    body = re.search(r"static const KeyDef %s\[\] = \{(.*?)\n\};" % name, src, re.S).group(1)
    return set(re.findall(r'\b(?:G|GC|D|DC)\("([a-z_]+)"', body))


def c_conf_key(path, func):
    src = open(path).read()
    body = re.search(r"static int %s\(.*?\n\}\n" % func, src, re.S).group(0)
    return set(re.findall(r'strcmp\(key, "([a-z_]+)"\)', body))


conf_c = open(os.path.join(ROOT, "daemon", "conf.c")).read()
daemon = {
    "[gateway]": c_table(conf_c, "gateway_keys"),
    "[mqtt]": c_table(conf_c, "mqtt_keys"),
    "[dbus]": c_table(conf_c, "dbus_keys"),
    "[device ID]": c_table(conf_c, "device_keys") | {"source"},
}
kinds = re.findall(r"&source_(\w+),", open(os.path.join(ROOT, "daemon", "source.c")).read())
for kind in kinds:
    keys = c_conf_key(os.path.join(ROOT, "daemon", "source-%s.c" % kind), "%s_conf_key" % kind)
    # conf.c asks the kind first: a kind's key replaces the common key of
    # the same name, and both pages document it.
    for k in sorted(keys & daemon["[device ID]"]):
        t.note("source = %s: its own key %s replaces the common one" % (kind, k))
    daemon["source = " + kind] = keys

page = os.path.join(MAN, "gaitway.conf.5.scd")
man = {}
for level in (1, 2):
    for heading, lines in scd_blocks(page, level).items():
        keys = set()
        for line in lines:
            if line.startswith("*"):
                keys.update(re.findall(r"\*([a-z_]+)\* =", line))
        man[heading] = keys
for section, keys in daemon.items():
    compare("gaitway.conf(5) %s documents exactly the keys gaitwayd accepts" % section,
            keys, man.get(section, set()), source="the daemon")

# ---- built and installed -------------------------------------------------------------------------

installed = run(["meson", "introspect", "--installed", BUILD])[1]
for page, sect in (("gaitwayd.8", 8), ("gaitway.1", 1), ("gaitway.conf.5", 5)):
    built = os.path.join(BUILD, "docs", "man", page)
    ok = os.path.exists(built) and open(built).read().startswith(".") and \
        ("/man%d/%s\"" % (sect, page)) in installed
    t.check(ok, "%s is built by scdoc and installed in man%d" % (page, sect))

sys.exit(t.finish())
