import { errorText } from './api.js';
import { h, replace } from './dom.js';
import { modelFigure } from './model-graph.js';
import type { View } from './view.js';

/** The model graph: definitions as nodes, relations as edges from a type to the types its subjects may be. */
export const modelView: View = {
  id: 'model',
  title: 'Model',
  render(root, ctx) {
    replace(root, h('p', { role: 'status' }, 'Loading the schema…'));
    ctx.schema().then(
      (schema) => replace(root, h('p', { class: 'muted' }, 'Each definition with its relations and permissions; an arrow goes from a relation to the types its subjects may be (dashed where a permission walks it with ->).'), modelFigure(schema)),
      (e: unknown) => replace(root, h('p', { class: 'error', role: 'alert' }, errorText(e))),
    );
  },
};
