/** One line of the import report: where in the original project, what was found, what was done. */
export type ReportSeverity = 'info' | 'warning' | 'error';

export interface ReportEntry {
  readonly severity: ReportSeverity;
  readonly file: string;
  readonly line: number;
  readonly message: string;
  readonly action: string;
}
