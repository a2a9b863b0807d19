#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""
Checks that the man pages document what the code has:

  memhpd.conf(5)   every key of lib/conf.c's key table, every section, every policy name of
                   lib/memhp-api.h, and each key's default as 'memhpd --check-config' prints it
                   ("Default: *value*")
  org.memhpd1(5)   every interface lib/memhp-api.h names (MEMHP_*_INTERFACE), in the SYNOPSIS,
                   and each method, property and signal of it in conf/org.memhpd1.xml with the
                   argument types the XML gives, and the contract in lib/memhp-api.h: the bus
                   name, path and interface, every error name, the block limit and the unknown
                   node, and every source, dax backing and device change name
  lib/memhp-api.h  is the only source file that spells out an org.memhpd1 name; the bus policy
                   (conf/org.memhpd1.conf) and conf/memhpd.sysusers use its name, interface
                   and group
  lib/memsource.c  names the sources and dax backings of lib/memhp-api.h, and no others
  memhpctl(8)      every command and option of ctl/memhpctl.c and every exit code in ctl/ctl.h
  memhpd(8)        every option of daemon/memhpd.c
  completion       every memhpctl command and long option in completion/memhpctl
  man/meson.build  builds every man/*.scd

Usage: test-docs.py SOURCE_ROOT MEMHPD [--pretend-missing=WORD]

--pretend-missing deletes WORD from every page before checking: test-docs-fails.py runs that for
each check family and expects that family's diagnostic, so every check is known to be able to
fail.
"""
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import memhp_api

failures = []


def fail(msg):
    failures.append(msg)
    print(f"FAIL: {msg}")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def c_block(text, start_pattern):
    """The text of the C initializer that follows start_pattern, up to its closing '};'."""
    m = re.search(start_pattern, text)
    if not m:
        return None
    end = text.find("};", m.end())
    return text[m.end() : end]


def long_options(c_text, path):
    block = c_block(c_text, r"static const struct option options\[\] = \{")
    if block is None:
        fail(f"{path}: no 'static const struct option options[]' table found")
        return [], []
    longs = re.findall(r'\{"([a-z][a-z-]*)",', block)
    m = re.search(r'getopt_long\(argc, argv, "([^"]*)"', c_text)
    shorts = re.findall(r"[A-Za-z]", m.group(1)) if m else []
    if not longs:
        fail(f"{path}: option table is empty")
    return longs, shorts


def check_options(page_name, page, longs, shorts):
    for o in longs:
        if not re.search(r"\*--" + re.escape(o) + r"\*", page):
            fail(f"{page_name}: option --{o} is not documented (expected *--{o}*)")
    for s in shorts:
        if not re.search(r"\*-" + re.escape(s) + r"\*", page):
            fail(f"{page_name}: short option -{s} is not documented (expected *-{s}*)")


def entry(page, head_regex):
    """The lines of a definition-list entry: its header line and the tab-indented lines below."""
    m = re.search(r"^" + head_regex + r".*$", page, re.M)
    if not m:
        return None
    lines = [m.group(0)]
    for line in page[m.end() + 1 :].split("\n"):
        if line.startswith("\t") or line == "":
            if line == "" and lines[-1] == "":
                break
            lines.append(line)
        else:
            break
    return "\n".join(lines)


def check_conf(src, api, memhpd, page):
    name = "memhpd.conf.5.scd"
    conf_c = read(os.path.join(src, "lib/conf.c"))
    block = c_block(conf_c, r"\} conf_keys\[\] = \{")
    if block is None:
        fail("lib/conf.c: no conf_keys[] table found")
        return
    keys = re.findall(r'\{SECTION_([A-Z_]+), "([A-Za-z]+)"', block)
    if len(keys) < 5:
        fail(f"lib/conf.c: only {len(keys)} keys parsed from conf_keys[]")
    shipped = read(os.path.join(src, "memhpd.conf"))
    for section, key in keys:
        if not re.search(r"^\*" + key + r"=\*", page, re.M):
            fail(f"{name}: key {key}= (section {section}) has no entry (expected a line '*{key}=*')")
        if not re.search(r"^#?" + key + "=", shipped, re.M):
            fail(f"memhpd.conf: key {key}= is not shown in the shipped file")
    for section in sorted({s for s, _ in keys}):
        title = {"NODE": "Node N", "SOURCE": "Source NAME",
                 "NODE_SOURCE": "Node N Source NAME"}.get(section, section.capitalize())
        if f"[{title}]" not in page:
            fail(f"{name}: section [{title}] is not described")

    policies = memhp_api.with_prefix(api, "MEMHP_POLICY_")
    if len(policies) < 3:
        fail(f"lib/memhp-api.h: only {len(policies)} MEMHP_POLICY_* names found")
    for p in policies:
        if f"*{p}*" not in page:
            fail(f"{name}: policy {p} is not described (expected *{p}*)")

    # The defaults: what the daemon itself reports for an empty configuration.
    out = subprocess.run(
        [memhpd, "--check-config", "--config", "/dev/null"],
        capture_output=True,
        text=True,
        env=dict(os.environ, MEMHP_TESTING="1"),
    )
    if out.returncode != 0:
        fail(f"memhpd --check-config --config /dev/null failed: {out.stderr.strip()}")
        return
    defaults = re.findall(r"^([A-Za-z]+)=(.*)$", out.stdout, re.M)
    if len(defaults) < 5:
        fail(f"memhpd --check-config printed only {len(defaults)} keys")
    for key, value in defaults:
        e = entry(page, r"\*" + key + r"=\*")
        if e is None:
            continue  # reported above
        if f"Default: *{value}*" not in e:
            fail(f"{name}: entry {key}= does not say 'Default: *{value}*' (memhpd's default)")


def sig_types(text):
    return re.findall(r"_([a-z(){}]+)_", text)


def check_dbus(src, api, page):
    name = "org.memhpd1.5.scd"
    tree = ET.parse(os.path.join(src, "conf/org.memhpd1.xml"))
    names = sorted(v for k, v in api.items() if k.startswith("MEMHP_") and k.endswith("_INTERFACE"))
    in_xml = {i.get("name"): i for i in tree.getroot().findall("interface")
              if i.get("name").startswith(api["MEMHP_BUS_NAME"] + ".")}
    for n in sorted(set(in_xml) - set(names)):
        fail(f"conf/org.memhpd1.xml: interface {n} has no MEMHP_*_INTERFACE in lib/memhp-api.h")
    for n in names:
        if n not in in_xml:
            fail(f"conf/org.memhpd1.xml: no interface {n}")
            continue
        if not re.search(r"^Interface: +" + re.escape(n) + "$", page, re.M):
            fail(f"{name}: interface {n} is not in the SYNOPSIS")
        check_dbus_members(name, page, in_xml[n])
    check_dbus_contract(name, api, page)


def check_dbus_members(name, page, iface):
    members = 0
    for m in iface.findall("method"):
        members += 1
        n = m.get("name")
        ins = [a.get("type") for a in m.findall("arg") if a.get("direction", "in") == "in"]
        outs = [a.get("type") for a in m.findall("arg") if a.get("direction") == "out"]
        line = re.search(r"^\*" + n + r"\*\((.*)$", page, re.M)
        if not line:
            fail(f"{name}: method {n} has no entry (expected a line '*{n}*(...)')")
            continue
        # "*Name*(_au_ blocks, _s_ zone) -> _a(uss)_ results"
        left, _, right = line.group(1).partition(" -> ")
        got_in, got_out = sig_types(left), sig_types(right)
        if got_in != ins or got_out != outs:
            fail(f"{name}: method {n} documented as ({','.join(got_in)}) -> ({','.join(got_out)}),"
                 f" the API has ({','.join(ins)}) -> ({','.join(outs)})")
    for s in iface.findall("signal"):
        members += 1
        n = s.get("name")
        types = [a.get("type") for a in s.findall("arg")]
        line = re.search(r"^\*" + n + r"\*\((.*?)\)", page, re.M)
        if not line:
            fail(f"{name}: signal {n} has no entry (expected a line '*{n}*(...)')")
        elif sig_types(line.group(1)) != types:
            fail(f"{name}: signal {n} documented with ({','.join(sig_types(line.group(1)))}),"
                 f" the API has ({','.join(types)})")
    for p in iface.findall("property"):
        members += 1
        n, t = p.get("name"), p.get("type")
        if not re.search(r"^\*" + n + r"\* _" + re.escape(t) + "_", page, re.M):
            fail(f"{name}: property {n} has no entry (expected a line '*{n}* _{t}_')")
    if members < 5:
        fail(f"conf/org.memhpd1.xml: only {members} members found in {iface.get('name')}")


def check_dbus_contract(name, api, page):
    errors = memhp_api.with_prefix(api, "MEMHP_ERROR_")
    if not errors:
        fail("lib/memhp-api.h: no MEMHP_ERROR_* names found")
    for e in errors:
        if f"*{e}*" not in page:
            fail(f"{name}: error {e} is not documented (expected *{e}*)")
    group = api["MEMHP_BUS_GROUP"]
    if f"*{group}*" not in page:
        fail(f"{name}: group {group} is not named (expected *{group}*)")
    for key in ("MEMHP_BUS_NAME", "MEMHP_BUS_PATH", "MEMHP_BUS_INTERFACE"):
        if api[key] not in page:
            fail(f"{name}: {key} {api[key]} is not mentioned")
    for key in ("MEMHP_MAX_BLOCKS_PER_CALL", "MEMHP_NODE_UNKNOWN"):
        if not re.search(r"\b" + str(api[key]) + r"\b", page):
            fail(f"{name}: {key} ({api[key]}) is not mentioned")
    for prefix, what in (("MEMHP_SOURCE_", "source"), ("MEMHP_BACKING_", "dax backing"),
                         ("MEMHP_DEVICE_", "device change")):
        values = memhp_api.with_prefix(api, prefix)
        if len(values) < 3:
            fail(f"lib/memhp-api.h: only {len(values)} {prefix}* names found")
        for v in values:
            if f"*{v}*" not in page:
                fail(f"{name}: {what} {v} is not documented (expected *{v}*)")


def check_source_names(src, api):
    """lib/memsource.c names sources and dax backings as the API does, and no others."""
    path = "lib/memsource.c"
    text = read(os.path.join(src, path))
    for table, prefix in (("source_names", "MEMHP_SOURCE_"), ("backing_names", "MEMHP_BACKING_")):
        block = c_block(text, r"\b" + table + r"\[[^]]*\] = \{")
        if block is None:
            fail(f"{path}: no {table}[] table found")
            continue
        got = sorted(n for n in re.findall(r'= "([^"]*)"', block) if n)
        want = sorted(memhp_api.with_prefix(api, prefix))
        if got != want:
            fail(f"{path}: {table}[] has {got}, lib/memhp-api.h's {prefix}* are {want}")


def check_bus_policy(src, api):
    """The shipped bus policy and the sysusers file name what lib/memhp-api.h says."""
    name, iface, group = api["MEMHP_BUS_NAME"], api["MEMHP_BUS_INTERFACE"], api["MEMHP_BUS_GROUP"]
    path = "conf/org.memhpd1.conf"
    root = ET.parse(os.path.join(src, path)).getroot()
    if root.find(f"policy[@user='root']/allow[@own='{name}']") is None:
        fail(f"{path}: root may not own {name}")
    if root.find(f"policy[@group='{group}']/allow[@send_interface='{iface}']") is None:
        fail(f"{path}: group {group} may not call {iface}")
    for allow in root.iter("allow"):
        dest = allow.get("send_destination")
        if dest is not None and dest != name:
            fail(f"{path}: send_destination={dest}, the bus name is {name}")
    sysusers = read(os.path.join(src, "conf/memhpd.sysusers"))
    if not re.search(r"^g\s+" + re.escape(group) + r"\s", sysusers, re.M):
        fail(f"conf/memhpd.sysusers: does not create group {group}")


def check_contract_written_once(src, api):
    """The bus names live in lib/memhp-api.h only: a string literal elsewhere is a second copy."""
    header = os.path.join("lib", "memhp-api.h")
    names = (api["MEMHP_BUS_NAME"], api["MEMHP_BUS_PATH"])
    prefix = "(?:" + "|".join(re.escape(n) for n in names) + ")"
    for d in ("daemon", "ctl", "lib", "fuzz", "tests"):
        for f in sorted(os.listdir(os.path.join(src, d))):
            path = os.path.join(d, f)
            if not f.endswith((".c", ".h")) or path == header:
                continue
            for lit in re.findall(r'"' + prefix + r'[^"]*"', read(os.path.join(src, path))):
                fail(f"{path}: {lit} is written out; use the MEMHP_* name from {header}")


def check_ctl(src, page, completion):
    name = "memhpctl.8.scd"
    path = os.path.join(src, "ctl/memhpctl.c")
    ctl = read(path)
    block = c_block(ctl, r"\} verbs\[\] = \{")
    verbs = re.findall(r'\{"([a-z-]+)",', block or "")
    if len(verbs) < 3:
        fail(f"ctl/memhpctl.c: only {len(verbs)} commands parsed from verbs[]")
    for v in verbs:
        if not re.search(r"^\*" + v + r"\*", page, re.M):
            fail(f"{name}: command {v} has no entry (expected a line starting '*{v}*')")
        if not re.search(r"\b" + v + r"\b", completion):
            fail(f"completion/memhpctl: command {v} is not completed")
    longs, shorts = long_options(ctl, "ctl/memhpctl.c")
    check_options(name, page, longs, shorts)
    for o in longs:
        if f"--{o}" not in completion:
            fail(f"completion/memhpctl: option --{o} is not completed")

    codes = re.findall(r"CTL_EXIT_[A-Z_]+ = (\d+)", read(os.path.join(src, "ctl/ctl.h")))
    if len(codes) < 3:
        fail(f"ctl/ctl.h: only {len(codes)} exit codes found")
    status = page.split("# EXIT STATUS", 1)[-1].split("\n# ", 1)[0]
    for c in codes:
        if not re.search(r"^\*" + c + r"\*$", status, re.M):
            fail(f"{name}: exit status {c} is not listed under EXIT STATUS")


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--pretend-missing=")]
    pretend = [a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--pretend-missing=")]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    src, memhpd = args
    man = os.path.join(src, "man")

    def page(n):
        text = read(os.path.join(man, n))
        for w in pretend:
            text = text.replace(w, "")
        return text

    api = memhp_api.load(os.path.join(src, "lib", "memhp-api.h"))
    check_conf(src, api, memhpd, page("memhpd.conf.5.scd"))
    check_dbus(src, api, page("org.memhpd1.5.scd"))
    check_bus_policy(src, api)
    check_source_names(src, api)
    check_contract_written_once(src, api)
    # memhpctl is checked as soon as its directory is in the tree (it may land after the pages).
    if os.path.exists(os.path.join(src, "ctl/meson.build")):
        check_ctl(src, page("memhpctl.8.scd"), read(os.path.join(src, "completion/memhpctl")))
    else:
        print("NOTE: no ctl/ in the tree yet, memhpctl(8) and its completion are not checked.")
    longs, shorts = long_options(read(os.path.join(src, "daemon/memhpd.c")), "daemon/memhpd.c")
    check_options("memhpd.8.scd", page("memhpd.8.scd"), longs, shorts)

    build = read(os.path.join(man, "meson.build"))
    for f in sorted(os.listdir(man)):
        if f.endswith(".scd") and f"'{f[:-4]}'" not in build:
            fail(f"man/meson.build: {f} is not built")

    if failures:
        print(f"{len(failures)} problems: the man pages (or lib/memhp-api.h) do not match the "
              "code.")
        return 1
    print("The man pages cover every config key, D-Bus member, error, command and option.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
