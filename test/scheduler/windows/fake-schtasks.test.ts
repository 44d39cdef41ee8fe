/**
 * The fake schtasks against what is documented (Microsoft Learn schtasks pages, MS-TSCH) and
 * the output format of real hosts (see test/fakes/FakeSchtasks.ts for the sources).
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseQueryXml, parseTaskElement } from '../../../src/scheduler/windows/parse.js';
import { encodeUtf16 } from '../../../src/scheduler/windows/render.js';
import { fakeSchtasks, memoryTaskFs, queryXmlOne } from '../../fakes/FakeSchtasks.js';
import type { FakeSchtasksOptions } from '../../fakes/FakeSchtasks.js';

const XSD = resolve(import.meta.dirname, '../../../../shared/windows/TaskSchedulerV2Schema.xsd');
const hasXmllint = ((): boolean => {
  try {
    execFileSync('xmllint', ['--version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
})();

const TASK = (cmd: string, triggers = ''): string => `<?xml version="1.0" encoding="UTF-16"?>\r\n<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">\r\n  <Triggers>${triggers}</Triggers>\r\n  <Settings>\r\n    <Enabled>true</Enabled>\r\n  </Settings>\r\n  <Actions Context="Author">\r\n    <Exec>\r\n      <Command>${cmd}</Command>\r\n    </Exec>\r\n  </Actions>\r\n</Task>\r\n`;

/**
 * Shape of `schtasks /Query /XML ONE` on a real host (Windows Server 2022, two tasks; content
 * shortened): one declaration, a `<Tasks>` root, a comment with the task path before each task.
 * Microsoft Learn "schtasks query" documents only that `/xml ONE` prints "one valid XML file".
 */
const REAL_QUERY_ONE = `<?xml version="1.0" encoding="UTF-16"?>\r
<Tasks>\r
  <!-- \\MicrosoftEdgeUpdateTaskMachineCore -->\r
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">\r
  <RegistrationInfo>\r
    <URI>\\MicrosoftEdgeUpdateTaskMachineCore</URI>\r
  </RegistrationInfo>\r
  <Actions Context="Author">\r
    <Exec>\r
      <Command>C:\\Program Files (x86)\\Microsoft\\EdgeUpdate\\MicrosoftEdgeUpdate.exe</Command>\r
      <Arguments>/c</Arguments>\r
    </Exec>\r
  </Actions>\r
</Task>\r
  <!-- \\cronsync\\acme\\backup -->\r
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">\r
  <Actions Context="Author">\r
    <Exec>\r
      <Command>node.exe</Command>\r
    </Exec>\r
  </Actions>\r
</Task>\r
</Tasks>\r
`;

function setup(opts: FakeSchtasksOptions = {}) {
  const mem = memoryTaskFs();
  const fake = fakeSchtasks(new Map(), { read: mem.read, ...opts });
  const put = async (xml: string): Promise<string> => mem.writeTemp('C:\\Temp', encodeUtf16(xml));
  const run = (...args: string[]) => fake.run({ file: 'C:\\Windows\\System32\\schtasks.exe', args });
  return { mem, fake, put, run };
}

describe('fakes/FakeSchtasks', () => {
  it('/Query /XML ONE prints the format of real hosts (declaration, <Tasks>, a path comment per task)', async () => {
    const { fake, put, run } = setup();
    await run('/Create', '/XML', await put(TASK('C:\\Program Files (x86)\\Microsoft\\EdgeUpdate\\MicrosoftEdgeUpdate.exe')), '/TN', 'MicrosoftEdgeUpdateTaskMachineCore', '/F');
    await run('/Create', '/XML', await put(TASK('node.exe')), '/TN', '\\cronsync\\acme\\backup', '/F');

    const out = (await run('/Query', '/XML', 'ONE')).stdout;

    const shape = (x: string) => parseQueryXml(x).map((t) => [t.path, parseTaskElement(t.task).model.action.command]);
    expect(shape(out)).toEqual(shape(REAL_QUERY_ONE));
    expect(out.split('\r\n').slice(0, 3)).toEqual(REAL_QUERY_ONE.split('\r\n').slice(0, 3));
    expect(out.endsWith('</Tasks>\r\n')).toBe(true);
    expect(fake.tasks.size).toBe(2);
    expect(queryXmlOne(new Map())).toBe('<?xml version="1.0" encoding="UTF-16"?>\r\n<Tasks>\r\n</Tasks>\r\n');
  });

  it('/Create without /F does not replace an existing task; with /F it does (Learn: schtasks create /f)', async () => {
    const { fake, put, run } = setup();
    await run('/Create', '/XML', await put(TASK('a.exe')), '/TN', '\\f\\t');

    const again = await run('/Create', '/XML', await put(TASK('b.exe')), '/TN', '\\f\\t');
    const forced = await run('/create', '/xml', await put(TASK('c.exe')), '/tn', '\\F\\T', '/f');

    expect(again.exitCode).toBe(1);
    expect(again.stderr).toMatch(/^ERROR: /);
    expect(forced.exitCode).toBe(0);
    expect([...fake.tasks.keys()]).toEqual(['\\F\\T']);
    expect(fake.tasks.get('\\F\\T')).toContain('c.exe');
  });

  it('/Create rejects task XML that is not a valid task (MS-TSCH 2.5), a missing file, and more than 48 triggers', async () => {
    const { put, run } = setup();
    const trigger = '<TimeTrigger><StartBoundary>2026-01-01T00:00:00</StartBoundary></TimeTrigger>';

    const results = await Promise.all([
      run('/Create', '/XML', await put('<Task>'), '/TN', 'x', '/F'),
      run('/Create', '/XML', await put('<Other xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task"/>'), '/TN', 'x', '/F'),
      run('/Create', '/XML', 'C:\\missing.xml', '/TN', 'x', '/F'),
      run('/Create', '/XML', await put(TASK('a.exe', trigger.repeat(49))), '/TN', 'x', '/F'),
      run('/Create', '/XML', await put(TASK('a.exe', trigger.repeat(48))), '/TN', 'x', '/F'),
    ]);

    expect(results.map((r) => r.exitCode)).toEqual([1, 1, 1, 1, 0]);
  });

  it.skipIf(!hasXmllint)('/Create with the xsd option rejects what the schema rejects (RestartCount 999)', async () => {
    const mem = memoryTaskFs();
    const fake = fakeSchtasks(new Map(), { read: mem.read, xsd: XSD });
    const bad = TASK('a.exe').replace('<Enabled>true</Enabled>', '<RestartOnFailure><Interval>PT1M</Interval><Count>999</Count></RestartOnFailure>');

    const r = await fake.run({ file: 'schtasks', args: ['/Create', '/XML', await mem.writeTemp('T', encodeUtf16(bad)), '/TN', 'x', '/F'] });

    expect(r.exitCode).toBe(1);
  });

  it('/Delete needs /F and an existing task (Learn: schtasks delete); names are case-insensitive', async () => {
    const { fake, put, run } = setup();
    await run('/Create', '/XML', await put(TASK('a.exe')), '/TN', '\\cronsync\\Acme\\Job', '/F');

    const missing = await run('/Delete', '/TN', '\\cronsync\\acme\\nope', '/F');
    const noForce = await run('/Delete', '/TN', '\\cronsync\\acme\\job');
    const ok = await run('/Delete', '/TN', '\\CRONSYNC\\acme\\job', '/F');

    expect([missing.exitCode, noForce.exitCode, ok.exitCode]).toEqual([1, 1, 0]);
    expect(fake.tasks.size).toBe(0);
  });

  it('/Change /DISABLE and /ENABLE set Settings/Enabled (Learn: schtasks change)', async () => {
    const { fake, put, run } = setup();
    await run('/Create', '/XML', await put(TASK('a.exe')), '/TN', '\\t', '/F');

    await run('/Change', '/TN', '\\t', '/DISABLE');
    const disabled = fake.tasks.get('\\t')!;
    await run('/Change', '/TN', '\\t', '/ENABLE');

    expect(disabled).toContain('<Enabled>false</Enabled>');
    expect(fake.tasks.get('\\t')).toContain('<Enabled>true</Enabled>');
    expect((await run('/Change', '/TN', '\\t', '/ENABLE', '/DISABLE')).exitCode).toBe(1);
  });

  it('stores the task as given, and prints /Query through the console code page when one is set (default: unchanged)', async () => {
    const utf8 = setup();
    const oem = setup({ consoleCodePage: 'cp437' });
    for (const { put, run } of [utf8, oem]) await run('/Create', '/XML', await put(TASK('C:\\Données\\日本.exe')), '/TN', '\\t', '/F');

    expect(oem.fake.tasks.get('\\t')).toContain('<Command>C:\\Données\\日本.exe</Command>');
    expect((await utf8.run('/Query', '/XML', 'ONE')).stdout).toContain('<Command>C:\\Données\\日本.exe</Command>');
    expect((await oem.run('/Query', '/XML', 'ONE')).stdout).toContain('<Command>C:\\Donn\uFFFDes\\??.exe</Command>');
    expect((await oem.run('/Query', '/TN', '\\t', '/XML')).stdout).toContain('<Command>C:\\Donn\uFFFDes\\??.exe</Command>');
  });

  it('other programs do not start; unknown verbs are errors', async () => {
    const { fake, run } = setup();

    expect((await fake.run({ file: 'at.exe', args: [] })).spawnError).toMatch(/ENOENT/);
    expect((await run('/Run', '/TN', 'x')).exitCode).toBe(1);
  });
});
