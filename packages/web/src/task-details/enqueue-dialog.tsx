import { useState } from 'react';
import type { Task } from '@tasklane/protocol';
import { api } from '../api';
import { QueueSelect } from '../components/queue-select';
import { ActionDialog } from './action-dialog';

/** Enqueue: the user picks the queue an agent will take the task from. */
export function EnqueueDialog({ task, onClose, onDone }: { task: Task; onClose: () => void; onDone: () => void }) {
  const [queue, setQueue] = useState('');
  return (
    <ActionDialog
      title={`Enqueue “${task.name}”`}
      submitLabel="Enqueue"
      onClose={onClose}
      onSubmit={async () => {
        if (!queue) throw new Error('Choose the queue an agent should take the task from.');
        await api.call('tasks.enqueue', { task: task.id, queue });
        onDone();
      }}
    >
      {/* Not a <label>: the picker may answer a paragraph (no queues yet) instead of a <select>. */}
      <div className="dialog-field">
        <span>Queue</span>
        <QueueSelect value={queue} onChange={setQueue} />
      </div>
    </ActionDialog>
  );
}
