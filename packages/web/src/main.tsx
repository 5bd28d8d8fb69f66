import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app';
import { checkSession, keepSessionAlive } from './auth/session';
import { adoptPathAddress } from './router';
import 'uplot/dist/uPlot.min.css';
import './styles.css';

adoptPathAddress();
keepSessionAlive();
void checkSession();
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
