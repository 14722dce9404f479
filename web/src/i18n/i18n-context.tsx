import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { en, type Dictionary, type MessageKey } from './en.ts';
import { zhCN } from './zh-cn.ts';

export const languages = ['en', 'zh-CN'] as const;
export type Language = (typeof languages)[number];

const dictionaries: Record<Language, Dictionary> = { en, 'zh-CN': zhCN };
const languageStorageKey = 'paythrough.language';

export type Translate = (key: MessageKey, params?: Record<string, string | number>) => string;

interface I18nValue {
  language: Language;
  setLanguage(language: Language): void;
  t: Translate;
  /** Dates and times in the chosen language. */
  formatTime(epochMs: number | null | undefined): string;
}

const I18nContext = createContext<I18nValue | null>(null);

function initialLanguage(): Language {
  const stored = localStorage.getItem(languageStorageKey);
  if (stored && (languages as readonly string[]).includes(stored)) return stored as Language;
  return navigator.language.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
}

export function I18nProvider({ children }: { children: ReactNode }) {
  const [language, setLanguageState] = useState<Language>(initialLanguage);

  const setLanguage = useCallback((next: Language) => {
    localStorage.setItem(languageStorageKey, next);
    setLanguageState(next);
  }, []);

  useEffect(() => {
    document.documentElement.lang = language;
    document.title = dictionaries[language]['app.title'];
  }, [language]);

  const value = useMemo<I18nValue>(() => {
    const dictionary = dictionaries[language];
    const timeFormat = new Intl.DateTimeFormat(language, { dateStyle: 'medium', timeStyle: 'short' });
    return {
      language,
      setLanguage,
      t: (key, params) =>
        dictionary[key].replace(/\{(\w+)\}/g, (whole, name: string) => (params && name in params ? String(params[name]) : whole)),
      formatTime: (epochMs) => (epochMs === null || epochMs === undefined ? dictionary['common.none'] : timeFormat.format(epochMs)),
    };
  }, [language, setLanguage]);

  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18nValue {
  const value = useContext(I18nContext);
  if (!value) throw new Error('useI18n outside I18nProvider');
  return value;
}
