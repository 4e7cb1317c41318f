/**
 * The extension's settings as VS Code shows them (`greenloop.apiBase`, camelCase) and as the server reads them
 * (`api_base`, snake_case, server/greenloop/config.py).
 *
 * Only the values a person set (user, workspace or folder settings) go to the server: VS Code's defaults would
 * otherwise override the project's own `[tool.greenloop]` table in pyproject.toml, which the server layers first.
 */

import * as vscode from 'vscode';

export const SECTION = 'greenloop';

/** VS Code setting (under `greenloop.`) -> the server's setting. `python` is handled apart (see python.ts). */
const SERVER_NAMES: Readonly<Record<string, string>> = {
    model: 'model',
    apiBase: 'api_base',
    criticModel: 'critic_model',
    maxRounds: 'max_rounds',
    budgetUsd: 'budget_usd',
    budgetTokens: 'budget_tokens',
    typeChecker: 'type_checker',
    onSave: 'on_save',
    watch: 'watch',
    testTimeout: 'test_timeout',
    repairTimeout: 'repair_timeout',
    sandbox: 'sandbox',
    secretFiles: 'secret_files',
};

export type ServerSettings = Record<string, unknown>;

/** The value a person set for `greenloop.<name>`, the most specific scope first; undefined when none did. */
function explicit(config: vscode.WorkspaceConfiguration, name: string): unknown {
    const seen = config.inspect(name);
    if (seen === undefined) {
        return undefined;
    }
    return seen.workspaceFolderValue ?? seen.workspaceValue ?? seen.globalValue;
}

/**
 * The settings to send to the server, in its names: what was set explicitly, without empty values (an empty
 * string or null means "use the project's or greenloop's default"), plus the interpreter when one is known.
 */
export function serverSettings(python: string | undefined, scope?: vscode.ConfigurationScope): ServerSettings {
    const config = vscode.workspace.getConfiguration(SECTION, scope);
    const settings: ServerSettings = {};
    for (const [name, key] of Object.entries(SERVER_NAMES)) {
        const value = explicit(config, name);
        if (value !== undefined && value !== null && value !== '') {
            settings[key] = value;
        }
    }
    if (python) {
        settings.python = python;
    }
    return settings;
}

/** The `greenloop.python` setting as written ('' when unset), with `${workspaceFolder}` and `~` expanded. */
export function pythonSetting(folder: vscode.WorkspaceFolder | undefined): string {
    const raw = String(explicit(vscode.workspace.getConfiguration(SECTION, folder), 'python') ?? '').trim();
    if (!raw) {
        return '';
    }
    const home = process.env.HOME ?? process.env.USERPROFILE ?? '';
    return raw
        .replace(/\$\{workspaceFolder\}/g, folder?.uri.fsPath ?? '')
        .replace(/^~(?=$|[\\/])/, home);
}

/** Keys sent at start that are no longer set: the server would keep them from initializationOptions. */
export function removedKeys(sent: ServerSettings, now: ServerSettings): string[] {
    return Object.keys(sent).filter((key) => !(key in now));
}
