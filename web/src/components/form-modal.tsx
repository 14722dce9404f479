import { Alert, Form, Modal } from 'antd';
import { useState, type ReactNode } from 'react';
import { ApiError } from '../api/client.ts';

interface FormModalProps<Values> {
  title: ReactNode;
  open: boolean;
  okText?: ReactNode;
  initialValues?: Partial<Values>;
  onClose(): void;
  /** Resolves when saved; a rejected ApiError is shown on its field when it names one, else above the form. */
  onSubmit(values: Values): Promise<unknown>;
  children: ReactNode;
}

/** A modal form that submits once, shows the server's error, and closes only on success. */
export function FormModal<Values extends object>({
  title,
  open,
  okText,
  initialValues,
  onClose,
  onSubmit,
  children,
}: FormModalProps<Values>) {
  const [form] = Form.useForm<Values>();
  const [submitting, setSubmitting] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(values: Values) {
    setSubmitting(true);
    setError(null);
    try {
      await onSubmit(values);
      onClose();
    } catch (caught) {
      const message = caught instanceof Error ? caught.message : String(caught);
      const field = caught instanceof ApiError && typeof caught.details?.field === 'string' ? caught.details.field : undefined;
      if (field && form.getFieldInstance(field as never)) {
        // The server prefixes field errors with the field's name; under the field itself that is noise.
        form.setFields([{ name: field as never, errors: [message.startsWith(`${field}: `) ? message.slice(field.length + 2) : message] }]);
      } else {
        setError(message);
      }
    } finally {
      setSubmitting(false);
    }
  }

  return (
    <Modal
      title={title}
      open={open}
      okText={okText}
      onOk={() => form.submit()}
      onCancel={onClose}
      // A stray click beside the dialog must not throw away what was typed.
      mask={{ closable: false }}
      confirmLoading={submitting}
      destroyOnHidden
      afterOpenChange={(opened) => (opened ? undefined : setError(null))}
    >
      {error && <Alert type="error" showIcon title={error} style={{ marginBottom: 16 }} role="alert" />}
      <Form form={form} layout="vertical" initialValues={initialValues} onFinish={submit} preserve={false}>
        {children}
        {/* Lets Enter in any field submit the form. */}
        <button type="submit" hidden aria-hidden />
      </Form>
    </Modal>
  );
}
