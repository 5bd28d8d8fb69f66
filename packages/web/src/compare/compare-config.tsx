import { Fragment } from 'react';
import { configurationRows, generalRows, hyperParamRows, type CompareRow, type ComparedTask } from './compare-rows';

/** Configuration side by side: general fields, hyperparameters by section, configuration objects; differences marked. */
export function CompareConfig({
  tasks,
  onlyDifferences,
  onOnlyDifferences,
}: {
  tasks: ComparedTask[];
  onlyDifferences: boolean;
  onOnlyDifferences: (value: boolean) => void;
}) {
  const groups: { title: string; rows: CompareRow[]; isText?: boolean }[] = [
    { title: 'General', rows: generalRows(tasks) },
    ...groupBySection(hyperParamRows(tasks)).map(([section, rows]) => ({ title: `Hyperparameters: ${section}`, rows })),
    { title: 'Configuration objects', rows: configurationRows(tasks), isText: true },
  ];
  const all = groups.flatMap((g) => g.rows);
  const differing = all.filter((row) => row.isDifferent).length;
  return (
    <div className="compare-config">
      <div className="toolbar">
        <label>
          <input type="checkbox" checked={onlyDifferences} onChange={(e) => onOnlyDifferences(e.target.checked)} /> Only differences
        </label>
        <span className="muted" data-testid="diff-count">
          {differing} of {all.length} fields differ
        </span>
      </div>
      <div className="compare-scroll">
        <table className="grid compare-table">
          <thead>
            <tr>
              <th scope="col">Field</th>
              {tasks.map((task) => (
                <th scope="col" key={task.id} title={task.id}>
                  {task.name}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {groups.map((group) => {
              const rows = onlyDifferences ? group.rows.filter((row) => row.isDifferent) : group.rows;
              if (rows.length === 0) return null;
              return (
                <Fragment key={group.title}>
                  <tr className="compare-section">
                    <th scope="rowgroup" colSpan={tasks.length + 1}>
                      {group.title}
                    </th>
                  </tr>
                  {rows.map((row) => (
                    <tr
                      key={`${row.section}/${row.name}`}
                      className={row.isDifferent ? 'diff' : undefined}
                      data-row={`${row.section}/${row.name}`}
                    >
                      <th scope="row">{row.name}</th>
                      {row.values.map((value, i) => (
                        <td key={tasks[i]?.id ?? i} className={value === undefined ? 'absent' : undefined}>
                          {value === undefined ? '—' : group.isText ? <pre className="compare-text">{value}</pre> : value}
                        </td>
                      ))}
                    </tr>
                  ))}
                </Fragment>
              );
            })}
          </tbody>
        </table>
      </div>
      {all.length === 0 && <p className="muted">These tasks have no hyperparameters or configuration objects.</p>}
      {onlyDifferences && all.length > 0 && differing === 0 && <p className="muted">No differences: every field is the same.</p>}
    </div>
  );
}

function groupBySection(rows: CompareRow[]): [string, CompareRow[]][] {
  const bySection = new Map<string, CompareRow[]>();
  for (const row of rows) bySection.set(row.section, [...(bySection.get(row.section) ?? []), row]);
  return [...bySection];
}
