/**
 * Which Python runs the server, and whether greenloop is installed in it.
 *
 * In order: the `greenloop.python` setting; the interpreter selected in the Python extension (ms-python.python),
 * when it is installed; `python3`.
 */

import { execFile } from 'child_process';
import * as vscode from 'vscode';

import { pythonSetting } from './settings';

export interface Interpreter {
    /** A path or a command name. */
    command: string;
    /** Where it came from, for messages and the log. */
    source: 'the greenloop.python setting' | 'the Python extension' | 'the default';
}

/** The subset of the Python extension's API used here (see its `environments` API). */
interface PythonApi {
    environments?: {
        getActiveEnvironmentPath(resource?: vscode.Uri): { id: string; path: string } | undefined;
        resolveEnvironment(
            environment: { id: string; path: string } | string,
        ): Promise<{ executable?: { uri?: vscode.Uri } } | undefined>;
        onDidChangeActiveEnvironmentPath?: vscode.Event<unknown>;
    };
}

async function pythonApi(): Promise<PythonApi | undefined> {
    const extension = vscode.extensions.getExtension<PythonApi>('ms-python.python');
    if (extension === undefined) {
        return undefined;
    }
    try {
        return extension.isActive ? extension.exports : await extension.activate();
    } catch {
        return undefined;
    }
}

/** The Python extension's selected interpreter for `folder`, when it has one. */
async function selectedInterpreter(folder: vscode.WorkspaceFolder | undefined): Promise<string | undefined> {
    const environments = (await pythonApi())?.environments;
    if (environments === undefined) {
        return undefined;
    }
    try {
        const active = environments.getActiveEnvironmentPath(folder?.uri);
        if (active === undefined) {
            return undefined;
        }
        const resolved = await environments.resolveEnvironment(active);
        return resolved?.executable?.uri?.fsPath ?? active.path;
    } catch {
        return undefined;
    }
}

export async function findInterpreter(folder: vscode.WorkspaceFolder | undefined): Promise<Interpreter> {
    const configured = pythonSetting(folder);
    if (configured) {
        return { command: configured, source: 'the greenloop.python setting' };
    }
    const selected = await selectedInterpreter(folder);
    if (selected) {
        return { command: selected, source: 'the Python extension' };
    }
    return { command: 'python3', source: 'the default' };
}

/** Calls `listener` when the Python extension's selected interpreter changes (nothing without that extension). */
export async function onInterpreterChange(listener: () => void): Promise<vscode.Disposable | undefined> {
    const event = (await pythonApi())?.environments?.onDidChangeActiveEnvironmentPath;
    return event ? event(() => listener()) : undefined;
}

export type Check = { ok: true } | { ok: false; missingPython: boolean; detail: string };

/** Runs `<python> -c "import greenloop"`. */
export function checkGreenloop(python: string, cwd: string | undefined): Promise<Check> {
    return new Promise((resolve) => {
        execFile(python, ['-c', 'import greenloop'], { cwd, timeout: 60_000 }, (error, _stdout, stderr) => {
            if (!error) {
                resolve({ ok: true });
                return;
            }
            const code = (error as NodeJS.ErrnoException).code;
            const missingPython = code === 'ENOENT' || code === 'EACCES';
            resolve({ ok: false, missingPython, detail: (stderr || error.message).trim().slice(-2000) });
        });
    });
}
