import '@mantine/core/styles.css';
import '@mantine/charts/styles.css';
import './app.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { MantineProvider } from '@mantine/core';
import { connect } from './api';
import { AppProvider } from './state';
import { App } from './App';
import { theme } from './theme';

const connection = connect();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <MantineProvider theme={theme} defaultColorScheme="light">
      <AppProvider connection={connection}>
        <App />
      </AppProvider>
    </MantineProvider>
  </StrictMode>,
);
