#!/usr/bin/env python3
"""examples.py - the examples of gtr's pages, as a reader sees them.

An example is a block of the EXAMPLES section of a manual page (each
.Bd -literal ... .Ed and each .Dl line), a .Bd -literal block of another
section that holds commands (its first line that is not a "#" comment
runs one of the six programs), or a code block of README.md (fenced or
indented).  Each has an ID, PAGE#N: the page's file name and
its place among that page's examples, from 1 (connectd.8#2, README.md#4).

A man page's block is taken as mandoc -Tutf8 renders it, indentation
removed: what a reader of the page sees and pastes, escapes resolved.

  examples.py list               ID and first line of every example
  examples.py dump DIR           DIR/ID.txt, the block as shown, and
                                 DIR/ID.lines, its logical lines: a line
                                 that starts with white space continues
                                 the line before it (a command's
                                 "\\"-continuation, a unit's ExecStart,
                                 wrapped output), joined by one space
                                 with the "\\" taken off; blank lines
                                 dropped.  DIR/list holds the IDs.
  examples.py check              exit 1, saying why, if groff -mandoc
                                 -Tutf8 shows a block otherwise than
                                 mandoc, or a block holds a byte that
                                 is not printable ASCII (a typographic
                                 quote or dash pastes as something the
                                 shell does not take), or a .Dl line
                                 wraps (it pastes as two commands).
  examples.py quotes             exit 1, saying where, if a man page,
                                 as mandoc or groff -mandoc -Tutf8 show
                                 it, has a paragraph whose quotes nest
                                 or do not close (an .Ql not ended on
                                 its line swallows the text after it).

Pages: man/man8/*.8, man/man7/*.7 and README.md of the tree this file
is in (tests/helpers/..), or those given after the command.
"""

import glob
import os
import re
import subprocess
import sys

TOP = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))


def pages(args):
	if args:
		return args
	return (sorted(glob.glob(os.path.join(TOP, "man/man8/*.8"))) +
	    sorted(glob.glob(os.path.join(TOP, "man/man7/*.7"))) +
	    [os.path.join(TOP, "README.md")])


PROGRAMS = ("cgid", "connectd", "httpftpd", "relayd", "tlsstripd", "tlswrapd")
COMMAND = re.compile(r"(\$ |# )?(%s)( |$)" % "|".join(PROGRAMS))


def commands(block):
	"""Whether a literal block is commands: its first line that is not
	blank or a "#" comment runs one of the programs (a log line, with
	its "name[pid]:", is not)."""
	for l in block[1:-1]:
		l = l.replace("\\&", "")
		if not l.strip() or re.match(r"#( |$)", l) and not COMMAND.match(l):
			continue
		return bool(COMMAND.match(l))
	return False


def man_blocks(path):
	"""A man page's examples, as mdoc source: the EXAMPLES section's
	blocks, and the literal blocks of other sections that are commands."""
	blocks, cur, inside = [], None, False
	with open(path, encoding="utf-8") as f:
		for line in f:
			line = line.rstrip("\n")
			if line.startswith(".Sh "):
				inside = line.split(None, 1)[1].strip() == "EXAMPLES"
				continue
			if cur is not None:
				cur.append(line)
				if line.startswith(".Ed"):
					if inside or commands(cur):
						blocks.append(cur)
					cur = None
			elif re.match(r"\.Bd\s+-literal\b", line):
				cur = [line]
			elif inside and re.match(r"\.(Dl|D1)\s", line):
				blocks.append([line])
	if cur is not None:
		sys.exit("%s: .Bd without .Ed" % path)
	return blocks


def page_name(path):
	"""The page's .Nm, so that a block's .Nm renders as on the page."""
	with open(path, encoding="utf-8") as f:
		for line in f:
			m = re.match(r"\.Nm\s+(\S+)", line)
			if m:
				return m.group(1)
	return "x"


def render(src, name, groff=False):
	"""Renders a block alone in a page of its own; returns its lines,
	with the common indentation and overstriking removed."""
	doc = "\n".join([".Dd January 1, 2025", ".Dt X 8", ".Os",
	    ".Sh NAME", ".Nm " + name, ".Nd x", ".Sh EXAMPLES"] + src) + "\n"
	cmd = ["groff", "-mandoc", "-Tutf8"] if groff else ["mandoc", "-Tutf8"]
	out = subprocess.run(cmd, input=doc.encode(), capture_output=True,
	    check=True).stdout.decode("utf-8")
	out = re.sub(".\b", "", out)
	lines = out.split("\n")
	start = next(i for i, l in enumerate(lines) if l.strip() == "EXAMPLES")
	body = lines[start + 1:]
	while body and not body[-1].strip():
		body.pop()
	body.pop()			# the footer
	while body and not body[-1].strip():
		body.pop()
	while body and not body[0].strip():
		body.pop(0)
	return dedent(body)


def dedent(lines):
	lines = [l.rstrip() for l in lines]
	ind = min((len(l) - len(l.lstrip()) for l in lines if l.strip()),
	    default=0)
	return [l[ind:] for l in lines]


def readme_blocks(path):
	"""README.md's code blocks: fenced, or indented by four spaces (or a
	tab) after a blank line."""
	blocks, cur, fence, prev_blank = [], None, False, True
	with open(path, encoding="utf-8") as f:
		lines = [l.rstrip("\n") for l in f]
	i = 0
	while i < len(lines):
		l = lines[i]
		if fence:
			if l.startswith("```"):
				blocks.append(cur)
				cur, fence = None, False
			else:
				cur.append(l)
		elif l.startswith("```"):
			cur, fence = [], True
		elif prev_blank and (l.startswith("    ") or l.startswith("\t")):
			cur = []
			while i < len(lines) and (not lines[i].strip() or
			    lines[i].startswith("    ") or lines[i].startswith("\t")):
				cur.append(lines[i])
				i += 1
			while cur and not cur[-1].strip():
				cur.pop()
			blocks.append(dedent(cur))
			cur, prev_blank = None, False
			continue
		prev_blank = not l.strip()
		i += 1
	if fence:
		sys.exit("%s: a fence that is not closed" % path)
	return blocks


def examples(paths, groff=False):
	"""(ID, shown lines, source) for every example of the pages."""
	out = []
	for p in paths:
		base = os.path.basename(p)
		if base.endswith(".md"):
			for n, b in enumerate(readme_blocks(p), 1):
				out.append(("%s#%d" % (base, n), b, b))
			continue
		name = page_name(p)
		for n, src in enumerate(man_blocks(p), 1):
			out.append(("%s#%d" % (base, n), render(src, name, groff), src))
	return out


def logical(lines):
	"""Joins continuation lines, drops blank ones."""
	out = []
	for l in lines:
		if not l.strip():
			continue
		if out and l[0] in " \t":
			prev = out[-1]
			if prev.endswith("\\"):
				prev = prev[:-1].rstrip()
			out[-1] = prev + " " + l.strip()
		else:
			out.append(l)
	return out


def balanced(text):
	"""Whether the typographic quotes of text close, none inside another."""
	depth = 0
	for ch in text:
		if ch in "\u2018\u201c":
			depth += 1
		elif ch in "\u2019\u201d":
			depth -= 1
		if depth < 0 or depth > 1:
			return False
	return depth == 0


def main():
	if len(sys.argv) < 2:
		sys.exit("usage: examples.py list|dump DIR|check|quotes [PAGE...]")
	cmd = sys.argv[1]
	if cmd == "list":
		for id_, lines, _ in examples(pages(sys.argv[2:])):
			print("%s\t%s" % (id_, lines[0] if lines else ""))
	elif cmd == "dump":
		d = sys.argv[2]
		os.makedirs(d, exist_ok=True)
		ids = []
		for id_, lines, _ in examples(pages(sys.argv[3:])):
			ids.append(id_)
			with open(os.path.join(d, id_ + ".txt"), "w") as f:
				f.write("\n".join(lines) + "\n")
			with open(os.path.join(d, id_ + ".lines"), "w") as f:
				f.write("".join(l + "\n" for l in logical(lines)))
		with open(os.path.join(d, "list"), "w") as f:
			f.write("".join(i + "\n" for i in ids))
	elif cmd == "check":
		bad = 0
		ps = pages(sys.argv[2:])
		m = examples(ps)
		g = dict((i, l) for i, l, _ in examples(ps, groff=True))
		for id_, lines, src in m:
			if g[id_] != lines:
				bad += 1
				print("%s: groff shows it otherwise than mandoc:" % id_)
				for a, b in zip(lines, g[id_]):
					if a != b:
						print("  mandoc: %s\n  groff:  %s" % (a, b))
			if src[0].startswith((".Dl", ".D1")) and len(lines) != 1:
				bad += 1
				print("%s: a .Dl that wraps: %s" % (id_, " / ".join(lines)))
			for l in lines:
				if re.search(r"[^\x20-\x7e]", l):
					bad += 1
					print("%s: not printable ASCII: %s" % (id_, l))
		sys.exit(1 if bad else 0)
	elif cmd == "quotes":
		bad = 0
		for p in pages(sys.argv[2:]):
			if p.endswith(".md"):
				continue
			for r in (["mandoc", "-Tutf8"], ["groff", "-mandoc", "-Tutf8"]):
				out = subprocess.run(r + [p], capture_output=True,
				    check=True).stdout.decode("utf-8")
				for para in re.split(r"\n\s*\n", re.sub(".\b", "", out)):
					if not balanced(para):
						bad += 1
						print("%s: %s: quotes nest or do not close: %s" %
						    (os.path.basename(p), r[0],
						    " ".join(para.split())))
		sys.exit(1 if bad else 0)
	else:
		sys.exit("examples.py: unknown command " + cmd)


if __name__ == "__main__":
	main()
