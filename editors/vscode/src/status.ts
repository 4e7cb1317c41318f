/**
 * The status bar item: what greenloop is doing, from the server's `greenloop/status` notification
 * (server/greenloop/lsp/status.py). A click shows the waiting fix when there is one, the log otherwise.
 */

import * as vscode from 'vscode';

export const NOTIFICATION = 'greenloop/status';

export interface Status {
    state: 'idle' | 'checking' | 'repairing' | 'fix_ready';
    failing: number;
    checking: boolean;
    repair: null | { uri: string; line: number | null; round: number; max_rounds: number; failing: number | null };
    fix: null | {
        repair_id: number | null; status: string; summary: string; lines: number; tests: number; passing: number;
        uri: string | null; line: number | null;
    };
}

/** The item's text and tooltip for a status (pure, so the wording is easy to check). */
export function describe(status: Status): { text: string; tooltip: string } {
    const failing = `${status.failing} failing test${status.failing === 1 ? '' : 's'}`;
    if (status.state === 'fix_ready' && status.fix) {
        return { text: '$(lightbulb) fix ready', tooltip: `greenloop: ${status.fix.summary}. Click to see the patch.` };
    }
    if (status.state === 'repairing' && status.repair) {
        const { round, max_rounds: rounds } = status.repair;
        return {
            text: round ? `$(wrench) repairing round ${round}/${rounds}` : '$(wrench) repairing',
            tooltip: round ? `greenloop is repairing: round ${round} of ${rounds}` : 'greenloop is running the failing tests first',
        };
    }
    if (status.state === 'checking' || status.checking) {
        return { text: '$(sync~spin) checking', tooltip: 'greenloop is running the affected tests and checks' };
    }
    if (status.failing > 0) {
        return { text: `$(error) ${status.failing} failing`, tooltip: `greenloop: ${failing}` };
    }
    return { text: '$(check) greenloop', tooltip: 'greenloop: no failing tests known' };
}

export class StatusItem implements vscode.Disposable {
    private readonly item = vscode.window.createStatusBarItem('greenloop.status', vscode.StatusBarAlignment.Left, 10);
    /** The last status the server sent (undefined before the first, or while it is not running). */
    last: Status | undefined;

    constructor() {
        this.item.name = 'greenloop';
        this.starting();
        this.item.show();
    }

    starting(): void {
        this.last = undefined;
        this.set('$(sync~spin) greenloop starting', 'greenloop is starting', 'greenloop.client.showLog');
    }

    failed(message: string): void {
        this.last = undefined;
        this.set('$(warning) greenloop', `${message} Click to see the log.`, 'greenloop.client.showLog');
    }

    update(status: Status): void {
        this.last = status;
        const { text, tooltip } = describe(status);
        const ready = status.state === 'fix_ready' && status.fix !== null;
        this.set(text, tooltip, ready ? 'greenloop.client.showPatch' : 'greenloop.client.showLog');
    }

    private set(text: string, tooltip: string, command: string): void {
        this.item.text = text;
        this.item.tooltip = tooltip;
        this.item.command = command;
    }

    dispose(): void {
        this.item.dispose();
    }
}
