import test from 'ava';
import { parseDockerfile } from '../../../../src/build/dockerfile/parse.ts';
import { DockerfileError } from '../../../../src/build/dockerfile/types.ts';
import { parseErrorOf } from './helpers/parse.ts';

// Every mistake is a DockerfileError at the instruction's first line: [Dockerfile, line, detail].
const ERRORS: [string, number, RegExp][] = [
  // Instructions and where they may appear.
  ['FROM x\nRUNN make\n', 2, /^unknown instruction: RUNN \(did you mean RUN\?\)$/],
  ['FROM x\nrnu make\n', 2, /^unknown instruction: rnu \(did you mean run\?\)$/],
  ['FROM x\nENTRYPIONT a\n', 2, /did you mean ENTRYPOINT\?/],
  ['FROM x\nFOOBARBAZ a\n', 2, /^unknown instruction: FOOBARBAZ$/],
  ['RUN make\nFROM x\n', 1, /^RUN before the first FROM: no build stage in current context/],
  ['ARG A\n\nENV B=1\nFROM x\n', 3, /^ENV before the first FROM/],
  ['', 1, /^file with no instructions$/],
  ['# just\n\n# comments\n', 1, /^file with no instructions$/],
  ['ARG A=1\nARG B\n', 1, /no stages to build/],
  // FROM and stage names.
  ['FROM\n', 1, /^FROM requires either one or three arguments$/],
  ['FROM a b\n', 1, /^FROM requires either one or three arguments$/],
  ['FROM a AS\n', 1, /^FROM requires either one or three arguments$/],
  ['FROM a IS b\n', 1, /^FROM requires either one or three arguments$/],
  ['FROM a AS b c\n', 1, /^FROM requires either one or three arguments$/],
  ['FROM a AS 1st\n', 1, /^invalid name for build stage: "1st", name can't start with a number or contain symbols$/],
  ['FROM a AS my/stage\n', 1, /invalid name for build stage: "my\/stage"/],
  ['FROM a AS $NAME\n', 1, /invalid name for build stage/],
  ['FROM a AS build\nRUN x\n\nFROM b AS Build\n', 4, /^duplicate stage name "build" \(first used on line 1\)/],
  ['FROM --platfrom=linux/amd64 a\n', 1, /^unknown flag: --platfrom \(did you mean platform\?\)$/],
  ['FROM --platform a\n', 1, /^missing a value on flag: --platform$/],
  // Flags.
  ['FROM x\nCOPY --chwon=1 a b\n', 2, /^unknown flag: --chwon \(did you mean chown\?\)$/],
  ['FROM x\nCOPY --checksum=sha256:0 a b\n', 2, /^unknown flag: --checksum$/],
  ['FROM x\nADD --from=build a b\n', 2, /^unknown flag: --from$/],
  ['FROM x\nADD --parents a b\n', 2, /^unknown flag: --parents$/],
  ['FROM x\nCOPY --chown=1 --chown=2 a b\n', 2, /^duplicate flag specified: --chown$/],
  ['FROM x\nCOPY --link=yes a b\n', 2, /^expecting boolean value for flag --link, not: yes$/],
  ['FROM x\nCOPY --link= a b\n', 2, /^missing a value on flag: --link$/],
  ['FROM x\nCOPY --from a b\n', 2, /^missing a value on flag: --from$/],
  ['FROM x\nENV --foo A=1\n', 2, /^unknown flag: --foo \(ENV takes no flags\)$/],
  ['FROM x\nMAINTAINER --boo joe@example.com\n', 2, /^unknown flag: --boo/],
  ['FROM x\nCMD --help\n', 2, /^unknown flag: --help \(CMD takes no flags\)$/],
  ['FROM x\nSTOPSIGNAL --now 9\n', 2, /STOPSIGNAL takes no flags/],
  ['FROM x\nARG --x A\n', 2, /ARG takes no flags/],
  ['FROM x\nRUN --network=bridge make\n', 2, /^invalid network mode "bridge"$/],
  ['FROM x\nRUN --security=privileged make\n', 2, /^security "privileged" is not valid$/],
  ['FROM x\nRUN --mnt=type=cache make\n', 2, /^unknown flag: --mnt \(did you mean mount\?\)$/],
  // Missing or malformed arguments, each naming its instruction.
  ['FROM x\nRUN\n', 2, /^RUN requires at least one argument$/],
  ['FROM x\nRUN --mount=type=cache,target=/c\n', 2, /^RUN requires at least one argument$/],
  ['FROM x\nRUN []\n', 2, /^RUN requires at least one argument$/],
  ['FROM x\nCMD\n', 2, /^CMD requires at least one argument$/],
  ['FROM x\nENTRYPOINT\n', 2, /^ENTRYPOINT requires at least one argument$/],
  ['FROM x\nCMD [ "echo", [ "nested json" ] ]\n', 2, /^when using JSON array syntax, arrays must be comprised of strings only$/],
  ['FROM x\nRUN ["a", 1]\n', 2, /arrays must be comprised of strings only/],
  ['FROM x\nSHELL /bin/bash -c\n', 2, /^SHELL requires the arguments to be in JSON form$/],
  ['FROM x\nSHELL []\n', 2, /^SHELL requires at least one argument$/],
  ['FROM x\nSHELL\n', 2, /^SHELL requires at least one argument$/],
  ['FROM x\nENV\n', 2, /^ENV requires at least one argument$/],
  ['FROM x\nENV ONLY\n', 2, /^ENV must have two arguments$/],
  ['FROM x\nENV A=1 B\n', 2, /^Syntax error - can't find = in "B". Must be of the form: name=value$/],
  ['FROM x\nENV =1\n', 2, /^ENV names can not be blank$/],
  ['FROM x\nLABEL\n', 2, /^LABEL requires at least one argument$/],
  ['FROM x\nLABEL a=1 =2\n', 2, /^LABEL names can not be blank$/],
  ['FROM x\nARG\n', 2, /^ARG requires at least one argument$/],
  ['FROM x\nARG =1\n', 2, /^ARG names can not be blank$/],
  ['FROM x\nMAINTAINER\n', 2, /^MAINTAINER requires exactly one argument$/],
  ['FROM x\nEXPOSE\n', 2, /^EXPOSE requires at least one argument$/],
  ['FROM x\nVOLUME\n', 2, /^VOLUME requires at least one argument$/],
  ['FROM x\nVOLUME []\n', 2, /^VOLUME requires at least one argument$/],
  ['FROM x\nVOLUME ["/a", " "]\n', 2, /^VOLUME specified can not be an empty string$/],
  ['FROM x\nUSER\n', 2, /^USER requires exactly one argument$/],
  ['FROM x\nWORKDIR\n', 2, /^WORKDIR requires exactly one argument$/],
  ['FROM x\nSTOPSIGNAL\n', 2, /^STOPSIGNAL requires exactly one argument$/],
  ['FROM x\nCOPY\n', 2, /^COPY requires at least two arguments, but none was provided/],
  ['FROM x\nCOPY only-one\n', 2, /^COPY requires at least two arguments, but only one was provided. Destination could not be determined$/],
  ['FROM x\nADD ["only-one"]\n', 2, /^ADD requires at least two arguments/],
  ['FROM x\nCOPY\t\n\t\tquux \\\n      bar\n', 2, /^COPY requires at least two arguments/], // a tab is not a continuation
  // HEALTHCHECK.
  ['FROM x\nHEALTHCHECK\n', 2, /^HEALTHCHECK requires at least one argument$/],
  ['FROM x\nHEALTHCHECK NONE now\n', 2, /^HEALTHCHECK NONE takes no arguments$/],
  ['FROM x\nHEALTHCHECK --interval=5s NONE\n', 2, /^HEALTHCHECK NONE takes no options/],
  ['FROM x\nHEALTHCHECK CONNECT TCP 7000\n', 2, /^Unknown type "CONNECT" in HEALTHCHECK \(try CMD\)$/],
  ['FROM x\nHEALTHCHECK CMD\n', 2, /^Missing command after HEALTHCHECK CMD$/],
  ['FROM x\nHEALTHCHECK CMD []\n', 2, /^Missing command after HEALTHCHECK CMD$/],
  ['FROM x\nHEALTHCHECK --intervall=5s CMD true\n', 2, /^unknown flag: --intervall \(did you mean interval\?\)$/],
  ['FROM x\nHEALTHCHECK --retries=-1 CMD true\n', 2, /^--retries cannot be negative \(-1\)$/],
  ['FROM x\nHEALTHCHECK --retries=three CMD true\n', 2, /^strconv.ParseInt: parsing "three": invalid syntax$/],
  ['FROM x\nHEALTHCHECK --retries=2147483648 CMD true\n', 2, /value out of range/],
  ['FROM x\nHEALTHCHECK --interval=999us CMD true\n', 2, /^Interval "interval" cannot be less than 1ms$/],
  ['FROM x\nHEALTHCHECK --start-period=-1s CMD true\n', 2, /^Interval "start-period" cannot be less than 1ms$/],
  ['FROM x\nHEALTHCHECK --timeout=30 CMD true\n', 2, /^--timeout: time: missing unit in duration "30"$/],
  ['FROM x\nHEALTHCHECK --timeout=3sec CMD true\n', 2, /time: unknown unit "sec" in duration "3sec"/],
  // ONBUILD.
  ['FROM x\nONBUILD\n', 2, /^ONBUILD requires at least one argument$/],
  ['FROM x\nONBUILD ONBUILD RUN touch foobar\n', 2, /^Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed$/],
  ['FROM x\nONBUILD FROM scratch\n', 2, /^FROM isn't allowed as an ONBUILD trigger$/],
  ['FROM x\nonbuild maintainer me\n', 2, /^MAINTAINER isn't allowed as an ONBUILD trigger$/],
  ['FROM x\nONBUILD RNU make\n', 2, /^unknown instruction: RNU \(did you mean RUN\?\)$/],
  ['FROM x\nONBUILD COPY --chwon=1 a b\n', 2, /^unknown flag: --chwon/],
  // Errors keep the first line of a continued instruction.
  ['FROM x\nRUN true\nCOPY \\\n  --chwon=1 \\\n  a b\n', 3, /^unknown flag: --chwon/],
];
for (const [text, line, detail] of ERRORS) {
  test(`line ${line} of ${JSON.stringify(text)}: ${detail.source}`, (t) => {
    const err = parseErrorOf(text);
    t.true(err instanceof DockerfileError);
    t.is(err.file, 'Dockerfile');
    t.is(err.line, line);
    t.regex(err.detail, detail);
    t.is(err.message, `Dockerfile:${line}: ${err.detail}`);
  });
}

// BuildKit's cheap lint warnings, each with the line a person should look at.
const WARNINGS: [string, string, { line: number; message: string }[]][] = [
  ['a clean Dockerfile', 'FROM a AS build\nRUN make\nFROM b\nCMD ["x"]\n', []],
  ['legacy ENV', 'FROM a\nENV A 1\nENV B=2\n', [{ line: 2, message: '"ENV key=value" should be used instead of legacy "ENV key value" format' }]],
  ['MAINTAINER', 'FROM a\nMAINTAINER me\n', [{ line: 2, message: 'Maintainer instruction is deprecated in favor of using label' }]],
  [
    'two CMDs in a stage: the earlier one is ignored',
    'FROM a\nCMD one\nRUN x\nCMD two\n',
    [{ line: 2, message: 'Multiple CMD instructions should not be used in the same stage because only the last one will be used' }],
  ],
  [
    'three ENTRYPOINTs',
    'FROM a\nENTRYPOINT one\nENTRYPOINT two\nENTRYPOINT three\n',
    [
      { line: 2, message: 'Multiple ENTRYPOINT instructions should not be used in the same stage because only the last one will be used' },
      { line: 3, message: 'Multiple ENTRYPOINT instructions should not be used in the same stage because only the last one will be used' },
    ],
  ],
  [
    'two HEALTHCHECKs',
    'FROM a\nHEALTHCHECK NONE\nHEALTHCHECK CMD true\n',
    [{ line: 2, message: 'Multiple HEALTHCHECK instructions should not be used in the same stage because only the last one will be used' }],
  ],
  ['one CMD per stage is fine', 'FROM a\nCMD one\nFROM b\nCMD two\n', []],
  ['stage name casing', 'FROM a AS Build\n', [{ line: 1, message: "Stage name 'Build' should be lowercase" }]],
  ['FROM and as casing', 'FROM a as build\n', [{ line: 1, message: "'as' and 'FROM' keywords' casing do not match" }]],
  ['from and AS casing', 'from a AS build\n', [{ line: 1, message: "'AS' and 'from' keywords' casing do not match" }]],
  ['mixed-case From: no opinion on as', 'From a as build\n', []],
  ['empty continuation line', 'FROM a\nRUN a \\\n\n  b\n', [{ line: 3, message: 'Empty continuation line found (empty continuation lines will become errors in a future release)' }]],
];
for (const [title, text, expected] of WARNINGS) {
  test(`warnings: ${title}`, (t) => {
    t.deepEqual(parseDockerfile(text).warnings, expected);
  });
}
