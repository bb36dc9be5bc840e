"""The Cisco IOS CLI dialogue of one session: prepare the terminal, enable, show commands, config lines.

Every read waits for a prompt pattern (`toolkit.network.channel`), never for a fixed time. What it
replaces of netmiko and why:

* session preparation and enable: netmiko sends a newline and sleeps 0.1 s, sets the width, disables
  paging, finds the prompt with a buffer-clearing sleep before and after (~0.2 s), then checks the
  mode, sends ``enable``, answers the password and checks the mode again. Here ``terminal width``,
  ``terminal length 0`` and ``enable`` go in one write; the prompt after the paging echo names the
  device, the answer to ``enable`` asks for the secret, and the prompt after the secret says whether it
  worked: two round trips;
* show commands: the echo, then the output up to the privileged prompt anchored at the end of the
  output (`exec_prompt_pattern`); several commands of one read go in one write and are split at their
  prompts (``pipeline_reads``);
* config lines: ``configure terminal``, then batches of ``config_batch_lines`` lines in one write each,
  ``end`` after the last line of the last batch. The answer of every line is the text between its echo
  and the next prompt; an IOS error marker there, or a prompt that shows config mode was left, fails
  the line (`ConfigLineError`), and no later batch is sent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from toolkit.network.channel import ChannelTimeout, ExpectChannel
from toolkit.network.timing import PlatformTiming

# IOS's answers to a refused line.
IOS_ERROR_PATTERN = (r"^%\s*(Invalid input|Incomplete command|Ambiguous command|Unknown command|.*not supported"
                     r"|.*overlaps with|.*already exists|.*[Ee]rror)")
_ERROR = re.compile(IOS_ERROR_PATTERN, re.MULTILINE)
# Any IOS prompt at the end of the output: user exec (>), privileged (#), config modes (name(config...)#).
_PROMPT = r"(?P<name>[A-Za-z0-9][\w.:/-]*)(?P<mode>\([\w.-]+\))?(?P<term>[>#])[ \t]*"
_PROMPT_AT_END = _PROMPT + r"\Z"
_ANY_PROMPT = re.compile(r"(?:\A|\n)" + _PROMPT_AT_END)
_CONFIG_PROMPT_END = re.compile(r"\(config[^)\s]*\)#[ \t]*\Z")
# The prompt after the paging command's echo, followed by the echo of the typed-ahead `enable` (or nothing yet).
_AFTER_PAGING = re.compile(r"terminal length 0[^\n]*\n(?:.*\n)*?" + _PROMPT + r"(?=enable|\Z)")
_AFTER_ENABLE = re.compile(r"enable[^\n]*\n(?:.*\n)*?(?:(?P<password>[Pp]assword:)[ \t]*\Z|" + _PROMPT_AT_END + ")")
# A prompt at the start of a line, followed by the next echo or by nothing yet: a line of output that only
# looks like a prompt does not end a read. The device's name is checked by `PromptLine`, so these are
# compiled once per process instead of once per session (``re``'s cache holds 512 patterns; 500 devices
# with three each recompiled every session, a tenth of a push's client CPU).
_EXEC_LINE = re.compile(r"^(?P<name>[^\s#>()]+)#[ \t]*(?=\S|\Z)", re.MULTILINE)
_ANY_LINE = re.compile(r"^(?P<name>[^\s#>()]+)(?:\([\w.-]+\))?[#>][ \t]*(?=\S|\Z)", re.MULTILINE)
_NEVER = re.compile(r"(?!)")


class CliError(Exception):
    """The device answered something other than what the dialogue expects (message is device text)."""


class EnableRefused(CliError):
    pass


class ConfigLineError(CliError):
    """``line`` (the n-th sent, from 0) was refused or left config mode; ``answer`` is the device's text."""

    def __init__(self, index: int, line: str, answer: str) -> None:
        super().__init__(index, line, answer)
        self.index, self.line, self.answer = index, line, answer

    def __str__(self) -> str:
        return f"line {self.index + 1} {self.line!r}: {error_line(self.answer)}"


def exec_prompt_pattern(base_prompt: str) -> str:
    """The privileged exec prompt as the last line of the output: ``HOSTNAME#`` at the start of a line, at the end.

    The base prompt is the hostname cut to 16 characters (IOS cuts it in config mode); exec mode shows
    the whole name, so more name characters may follow. Anchored at both ends, a ``#`` inside the
    output (a description, a banner) never ends the read early.
    """
    return rf"(?:\A|[\r\n]){re.escape(base_prompt)}[^\s#>()]*#\s*\Z"


class PromptLine:
    """``pattern`` (a prompt at the start of a line, its name in group ``name``) where the name starts with
    the device's base prompt: the same matches as a pattern compiled with the escaped base prompt in
    front, from one pattern compiled once. ``search`` has the signature `ExpectChannel` calls."""

    def __init__(self, pattern: re.Pattern[str], base_prompt: str) -> None:
        self.pattern = pattern
        self.base_prompt = base_prompt

    def search(self, text: str, pos: int = 0) -> re.Match[str] | None:
        search, base = self.pattern.search, self.base_prompt
        match = search(text, pos)
        while match is not None and not match.group("name").startswith(base):
            match = search(text, match.start() + 1)  # a prompt-like line of another name: look further
        return match


def error_line(text: str) -> str:
    match = re.search(r"%\s*[^\n]*", text)
    return match.group(0).strip() if match else text.strip().splitlines()[-1] if text.strip() else ""


class IosCli:
    """One prepared, privileged IOS CLI; every method returns device text (unmasked: the caller masks)."""

    def __init__(self, channel: ExpectChannel, timing: PlatformTiming) -> None:
        self.channel = channel
        self.timing = timing
        self.base_prompt = ""
        self.privileged = False
        self._exec_line = self._any_line = PromptLine(_NEVER, "")  # set with the prompt

    # ------------------------------------------------------------------ session start

    def start(self, secret: str | None) -> str:
        """Width, paging and ``enable`` in one write (``enable`` at a privileged prompt does nothing); the
        prompt after the paging echo names the device, the answer to ``enable`` asks for the secret or is
        the privileged prompt. The secret is only ever sent after ``Password:`` (never typed ahead, where
        a device that did not ask would echo it)."""
        self.channel.send("terminal width 511\nterminal length 0\nenable\n")
        _, match = self.channel.read_until(_AFTER_PAGING, self.timing.prompt_timeout_s)
        hostname, mode, terminator = match.group("name", "mode", "term")
        if mode:
            raise CliError(f"the session starts in a config mode ({hostname}{mode}{terminator})")
        self._set_prompt(hostname, terminator == "#")
        text, match = self.channel.read_until(_AFTER_ENABLE, self.timing.prompt_timeout_s)
        if match.group("password") is not None:
            if secret is None:
                raise EnableRefused("the device asks for an enable secret and none is configured")
            self.channel.send(secret + "\n")
            text, match = self.channel.read_until(_ANY_PROMPT, self.timing.prompt_timeout_s)
        if match.group("term") != "#" or match.group("mode"):
            raise EnableRefused(error_line(text) or "still not privileged")
        self._set_prompt(match.group("name"), True)
        return hostname

    def _set_prompt(self, hostname: str, privileged: bool) -> None:
        self.base_prompt = hostname[:16]
        self.privileged = privileged
        self._exec_line = PromptLine(_EXEC_LINE, self.base_prompt)
        self._any_line = PromptLine(_ANY_LINE, self.base_prompt)

    def logout(self) -> None:
        """``exit`` and wait until the device closes the session, so its vty line is free when we return
        (IOS has few; the next session to this device may come at once). Raises EOFError when closed."""
        self.channel.send("exit\n")
        self.channel.read_until(_NEVER, self.prompt_timeout)  # never matches: ends in EOF

    # ------------------------------------------------------------------ reads

    def show(self, commands: Sequence[str]) -> list[str]:
        """The output of each command (echo and prompt removed), in order."""
        if not self.base_prompt:
            raise CliError("the session is not prepared")
        outputs: list[str] = []
        groups = [list(commands)] if self.timing.pipeline_reads else [[c] for c in commands]
        for group in groups:
            self.channel.send("".join(f"{c}\n" for c in group))
            for command in group:
                # The echo, the output, and the privileged prompt at the start of a line that ends it.
                text, body, match = self.channel.read_answer(command, self._exec_line, self.timing.command_timeout_s)
                outputs.append(text[body:match.start()])
        return outputs

    # ------------------------------------------------------------------ config

    def configure(self, lines: Sequence[str]) -> str:
        """Apply ``lines`` in config mode in batches; every line's answer is checked (`ConfigLineError`).

        Config mode is left in every case (``end``), so the session stays usable for a restore.
        """
        if not lines:
            return ""
        timeout = self.timing.config_timeout_s
        self.channel.send("configure terminal\n")
        text, _, match = self.channel.read_answer("configure terminal", self._any_line, self.prompt_timeout)
        if "(config" not in match.group(0):
            raise CliError(f"config mode refused: {error_line(text)}")
        transcript = [text]
        size = self.timing.config_batch_lines
        for start in range(0, len(lines), size):
            batch = list(lines[start:start + size])
            last = start + len(batch) == len(lines)
            self.channel.send("".join(f"{line}\n" for line in batch) + ("end\n" if last else ""))
            failure: ConfigLineError | None = None
            for offset, line in enumerate([*batch, "end"] if last else batch):
                try:
                    answer, body = self._answer_of(line, timeout)
                except (EOFError, ChannelTimeout, OSError):
                    if failure is not None:  # e.g. a line that left config mode, then an `exit` logged out
                        raise failure from None
                    raise
                transcript.append(answer)
                if failure is None and offset < len(batch):
                    failure = self._problem(start + offset, line, answer[body:])
            if failure is not None:  # no later batch is sent
                self._leave_config()
                raise failure
        return "".join(transcript)

    @property
    def prompt_timeout(self) -> float:
        return self.timing.prompt_timeout_s

    def _answer_of(self, line: str, timeout: float) -> tuple[str, int]:
        """The echo of ``line``, its answer and the prompt after it (IOS's, in any mode: name[(mode)]# or
        name> when the session dropped to user exec); and where the answer starts."""
        text, body, _ = self.channel.read_answer(line.strip(), self._any_line, timeout)
        return text, body

    @staticmethod
    def _problem(index: int, line: str, body: str) -> ConfigLineError | None:
        """The answer (after the echo) must hold no error marker and end in a config-mode prompt."""
        if _ERROR.search(body):
            return ConfigLineError(index, line, body)
        if _CONFIG_PROMPT_END.search(body) is None:
            return ConfigLineError(index, line, body + "\n% config mode was left after this line")
        return None

    def _leave_config(self) -> None:
        """After a refused line: ``end`` (harmless at the exec prompt too) and wait for the privileged prompt.

        A session that died meanwhile is left to the caller's restore, which opens a fresh one.
        """
        try:
            self.channel.send("end\n")
            self.channel.read_answer("end", self._exec_line, self.prompt_timeout)
        except (EOFError, ChannelTimeout, OSError):
            pass
