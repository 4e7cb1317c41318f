/**
 * The waiting fix, shown in VS Code's diff editor: the file as it is now on the left, the file with the fix on
 * the right, both read-only documents of the `greenloop-patch` scheme. Showing it changes nothing: applying is
 * the server's `greenloop.applyFix`, which goes through VS Code's Refactor Preview.
 *
 * The server sends the fix as a unified diff (paths `a/<rel>` and `b/<rel>` relative to the project root). When
 * it cannot be laid over the text as it is now (the person typed over the lines it changes), the diff itself is
 * shown, as a read-only `.diff` document.
 */

import * as path from 'path';
import * as vscode from 'vscode';

export const SCHEME = 'greenloop-patch';

export interface Hunk {
    oldStart: number; // 1-based, as in `@@ -oldStart,n +newStart,m @@`
    oldLines: string[];
    newLines: string[];
}

export interface FilePatch {
    path: string; // relative to the project root, '/'-separated
    hunks: Hunk[];
    oldNoNewline: boolean;
    newNoNewline: boolean;
}

/** The files of a unified diff (`git diff` / difflib style). */
export function parseUnifiedDiff(diff: string): FilePatch[] {
    const files: FilePatch[] = [];
    let file: FilePatch | undefined;
    let hunk: Hunk | undefined;
    let last: string | undefined; // the kind of the previous hunk line: ' ', '-' or '+'
    let oldPath = '';
    for (const raw of diff.split('\n')) {
        const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
        if (line.startsWith('--- ') && (hunk === undefined || !inHunk(hunk))) {
            oldPath = line.slice(4).split('\t')[0];
            continue;
        }
        if (line.startsWith('+++ ') && (hunk === undefined || !inHunk(hunk))) {
            const newPath = line.slice(4).split('\t')[0];
            const chosen = newPath === '/dev/null' ? oldPath : newPath;
            file = { path: chosen.replace(/^[ab]\//, ''), hunks: [], oldNoNewline: false, newNoNewline: false };
            files.push(file);
            hunk = undefined;
            continue;
        }
        const header = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/.exec(line);
        if (header && file) {
            hunk = { oldStart: Number(header[1]), oldLines: [], newLines: [] };
            (hunk as Counted).wantOld = header[2] === undefined ? 1 : Number(header[2]);
            (hunk as Counted).wantNew = header[4] === undefined ? 1 : Number(header[4]);
            file.hunks.push(hunk);
            continue;
        }
        if (!file || !hunk) {
            continue;
        }
        if (line.startsWith('\\')) {
            if (last === '-' || last === ' ') {
                file.oldNoNewline = true;
            }
            if (last === '+' || last === ' ') {
                file.newNoNewline = true;
            }
            continue;
        }
        if (!inHunk(hunk)) {
            continue;
        }
        const kind = line[0] ?? ' ';
        const text = line.slice(1);
        if (kind === ' ' || line === '') {
            hunk.oldLines.push(text);
            hunk.newLines.push(text);
            last = ' ';
        } else if (kind === '-') {
            hunk.oldLines.push(text);
            last = '-';
        } else if (kind === '+') {
            hunk.newLines.push(text);
            last = '+';
        }
    }
    return files;
}

interface Counted extends Hunk {
    wantOld: number;
    wantNew: number;
}

/** The hunk still expects lines (its header's counts are not reached). */
function inHunk(hunk: Hunk): boolean {
    const counted = hunk as Counted;
    return hunk.oldLines.length < counted.wantOld || hunk.newLines.length < counted.wantNew;
}

/** Where `lines` occurs in `text`, the nearest to `expected` first; -1 when nowhere. */
function find(text: string[], lines: string[], expected: number): number {
    const fits = (at: number) =>
        at >= 0 && at + lines.length <= text.length && lines.every((line, i) => text[at + i] === line);
    for (let distance = 0; distance <= text.length; distance++) {
        if (fits(expected - distance)) {
            return expected - distance;
        }
        if (distance > 0 && fits(expected + distance)) {
            return expected + distance;
        }
    }
    return -1;
}

/** `text` with `patch` applied, or undefined when a hunk's lines are not in it. Keeps the text's line ends. */
export function applyPatch(text: string, patch: FilePatch): string | undefined {
    const eol = text.includes('\r\n') ? '\r\n' : '\n';
    const endsWithNewline = text.endsWith('\n');
    const lines = text.split(/\r?\n/);
    if (endsWithNewline || text === '') {
        lines.pop();
    }
    let delta = 0;
    let floor = 0;
    for (const hunk of patch.hunks) {
        const expected = Math.max(hunk.oldStart - 1 + delta, 0);
        const at = hunk.oldLines.length === 0
            ? Math.min(hunk.oldStart + delta, lines.length) // an insertion after line oldStart
            : find(lines, hunk.oldLines, expected);
        if (at < floor) {
            return undefined;
        }
        lines.splice(at, hunk.oldLines.length, ...hunk.newLines);
        delta += hunk.newLines.length - hunk.oldLines.length;
        floor = at + hunk.newLines.length;
    }
    const newline = patch.newNoNewline ? false : patch.oldNoNewline ? true : endsWithNewline || text === '';
    return lines.join(eol) + (newline && lines.length > 0 ? eol : '');
}

/** Read-only documents of the `greenloop-patch` scheme: the before and after sides, and plain diffs. */
export class PatchDocuments implements vscode.TextDocumentContentProvider {
    private readonly contents = new Map<string, string>();
    private readonly changed = new vscode.EventEmitter<vscode.Uri>();
    readonly onDidChange = this.changed.event;

    provideTextDocumentContent(uri: vscode.Uri): string {
        return this.contents.get(uri.toString()) ?? '';
    }

    put(uri: vscode.Uri, text: string): vscode.Uri {
        this.contents.set(uri.toString(), text);
        this.changed.fire(uri);
        return uri;
    }

    dispose(): void {
        this.changed.dispose();
    }
}

/** What `greenloop.showPatch` answers (server/greenloop/repair/present/workspace.py, show_patch). */
export interface PatchAnswer {
    patch: string | null;
    status?: string;
    repair_id?: number | null;
    lines?: number;
    tests?: number;
    passing?: number;
}

async function textOf(file: vscode.Uri): Promise<string | undefined> {
    const open = vscode.workspace.textDocuments.find((doc) => doc.uri.toString() === file.toString());
    if (open !== undefined) {
        return open.getText();
    }
    try {
        return new TextDecoder().decode(await vscode.workspace.fs.readFile(file));
    } catch {
        return undefined;
    }
}

async function exists(file: vscode.Uri): Promise<boolean> {
    try {
        await vscode.workspace.fs.stat(file);
        return true;
    } catch {
        return false;
    }
}

/** The project root the diff's paths are relative to: from the fix's own file when known, else a workspace
 * folder holding the first file. */
async function projectRoot(first: string, fixUri: string | undefined): Promise<vscode.Uri | undefined> {
    if (fixUri) {
        const uri = vscode.Uri.parse(fixUri);
        if (uri.path.endsWith('/' + first)) {
            return uri.with({ path: uri.path.slice(0, -first.length - 1) });
        }
    }
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
        if (await exists(vscode.Uri.joinPath(folder.uri, first))) {
            return folder.uri;
        }
    }
    return undefined;
}

/**
 * Shows `answer.patch` in a diff editor (one file) or a multi-file diff editor (several files); falls back to the
 * diff's text. `fixUri`: the file of the fix's first change (the `greenloop/status` notification's `fix.uri`).
 */
export async function showPatch(documents: PatchDocuments, answer: PatchAnswer, fixUri: string | undefined,
    summary: string | undefined): Promise<void> {
    const diff = answer.patch ?? '';
    const id = answer.repair_id ?? 'fix';
    const label = summary ?? (answer.tests ? `passes ${answer.passing ?? 0} of ${answer.tests} tests` : 'fix');
    const files = parseUnifiedDiff(diff);
    const root = files.length > 0 ? await projectRoot(files[0].path, fixUri) : undefined;
    const sides: [vscode.Uri, vscode.Uri, vscode.Uri][] = [];
    if (root !== undefined) {
        for (const file of files) {
            const target = vscode.Uri.joinPath(root, file.path);
            const before = await textOf(target);
            const after = before === undefined ? undefined : applyPatch(before, file);
            if (before === undefined || after === undefined) {
                sides.length = 0;
                break;
            }
            const side = (name: string) =>
                vscode.Uri.from({ scheme: SCHEME, path: `/${id}/${name}/${file.path}` });
            sides.push([target, documents.put(side('now'), before), documents.put(side('fixed'), after)]);
        }
    }
    try {
        if (sides.length === 1) {
            const [target, left, right] = sides[0];
            await vscode.commands.executeCommand('vscode.diff', left, right,
                `${path.posix.basename(target.path)}: greenloop ${label}`, { preview: true });
            return;
        }
        if (sides.length > 1) {
            await vscode.commands.executeCommand('vscode.changes', `greenloop ${label}`, sides);
            return;
        }
    } catch {
        // fall through to the diff's text
    }
    const plain = documents.put(vscode.Uri.from({ scheme: SCHEME, path: `/${id}/greenloop-fix.diff` }), diff);
    const doc = await vscode.workspace.openTextDocument(plain);
    await vscode.languages.setTextDocumentLanguage(doc, 'diff');
    await vscode.window.showTextDocument(doc, { preview: true });
}

/** Closes the diff editors of fixes other than `keep` (a fix applied or discarded is no longer worth a tab). */
export async function closeOtherPatches(keep: number | null | undefined): Promise<void> {
    const stale = vscode.window.tabGroups.all.flatMap((group) => group.tabs).filter((tab) => {
        const input = tab.input;
        const uri = input instanceof vscode.TabInputTextDiff ? input.modified
            : input instanceof vscode.TabInputText ? input.uri : undefined;
        return uri?.scheme === SCHEME && (keep === undefined || keep === null || !uri.path.startsWith(`/${keep}/`));
    });
    if (stale.length > 0) {
        await vscode.window.tabGroups.close(stale, true);
    }
}
