import { Typography } from 'antd';

/** A table cell's small grey second line (a number, a time, who asked). */
export function SecondaryText({ children }: { children: string }) {
  return (
    <Typography.Text type="secondary" style={{ fontSize: 12 }}>
      {children}
    </Typography.Text>
  );
}
